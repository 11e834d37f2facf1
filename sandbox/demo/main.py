"""`gigdesk demo [--port N]`: start the demo world and its page, print the URL, run until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from sandbox.demo.page import DemoPage
from sandbox.demo.world import Demo
from sandbox.loopback import LoopbackServer

# The one "connect Slack" hint of a demo start (`make run` without a .env prints none of its own).
CONNECT_HINT = "To connect your own Slack workspace: gigdesk init, or make init (README: Connect Slack)."


class RunningDemo:
    """A started Demo and its page on 127.0.0.1:port (0: any free port)."""

    def __init__(self, port: int = 3000, **demo_options):
        if port:
            _try_port(port)  # before anything starts (werkzeug would print and exit instead of raising)
        self.demo = Demo(**demo_options).start()
        self.page = DemoPage(self.demo)
        self._server = LoopbackServer(self.page, name="demo-page", request_handler=_QuietHandler)
        try:
            self.url = self._server.start("127.0.0.1", port) + "/"
        except OSError:
            self.demo.stop()
            raise

    def stop(self) -> None:
        self._server.stop()
        self.page.poster.session.close()
        self.demo.stop()


def _try_port(port: int) -> None:
    """Raise OSError when 127.0.0.1:port cannot be listened on."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does
        probe.bind(("127.0.0.1", port))


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:  # the page polls: no access log
            pass

    return Quiet


_QuietHandler = _quiet_handler()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gigdesk demo", description="Try gigdesk offline: a local Slack workspace in your browser.")
    parser.add_argument("--port", type=int, default=3000, help="port of the page (default 3000; 0 = any free)")
    parser.add_argument("--socket-mode", action="store_true",
                        help="run the bot in Socket Mode: clicks reach it as envelopes over a WebSocket, not as signed HTTP")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        running = RunningDemo(args.port, socket_mode=args.socket_mode)
    except OSError as e:
        other = args.port + 1 if args.port < 65535 else 3000
        print(f"gigdesk demo: cannot listen on port {args.port} ({e.strerror or e}): try gigdesk demo --port {other}", flush=True)
        return 1
    print("gigdesk demo: an offline Slack workspace with the bot, simulated RapidWorkers and Wonolo, simulated money.", flush=True)
    if args.socket_mode:
        print("  Socket Mode: the bot connects out to the local workspace; your clicks reach it as envelopes.", flush=True)
    print(f"  Open {running.url}", flush=True)
    print(f"  {CONNECT_HINT}", flush=True)
    print("  Ctrl-C stops it.", flush=True)
    done = threading.Event()
    # Explicit handlers: a process started in the background inherits SIGINT ignored.
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # Work still in flight meets stopped servers: that is the stop, not an error to report.
        logging.disable(logging.ERROR)
        running.stop()
        print("gigdesk demo stopped.", flush=True)
    return 0
