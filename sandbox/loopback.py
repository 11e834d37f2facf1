"""A werkzeug server in a daemon thread: the simulators (and the tests' Slack stand-in) run on it."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class LoopbackServer:
    """Serve a WSGI app on host:port (0 picks a free port) until stop()."""

    def __init__(self, app, *, name: str, request_handler: type[WSGIRequestHandler] | None = None, join_timeout: float = 5.0):
        self.app = app
        self.name = name
        self.request_handler = request_handler
        self.join_timeout = join_timeout
        self.server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; return the base URL."""
        server = make_server(host, port, self.app, threaded=True, request_handler=self.request_handler)
        self.server = server
        # A short poll interval keeps stop() fast (tests start many servers).
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True)
        self._thread.start()
        return f"http://{host}:{server.port}"

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        server, self.server = self.server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout)
