"""Socket Mode clients after a lost connection: time to reconnect, and CPU used meanwhile.

The Slack stand-in (this process) ends the client's connection in one of three
ways: a `disconnect` message (refresh_requested), a TCP reset, or a quiet
close (TCP FIN without a WebSocket close frame). The client runs alone in a
child process that acknowledges every envelope. Measured per client and case:
seconds from the drop until an envelope sent on the new connection has been
acknowledged (the link works again), and the child's CPU seconds over that
time (utime + stime from /proc: 1.0 CPU-s per second is one core spinning).

Each case runs --repeat times on one client process (races show up as a slow
repeat): the table gives the median and the slowest time, and the CPU over all
repeats. A client that does not recover within --limit seconds is given up on.

Clients: slack-sdk's built-in one (Bolt's default SocketModeHandler), the
websocket-client one, the websockets (asyncio) one, the aiohttp one, and
`gigdesk`: the link `gigdesk serve` uses (bot/socket_link.py).

    python benchmarks/socket_reconnect.py [--clients builtin,websocket_client,...] [--cases refresh,reset,quiet]
                                          [--repeat 3] [--limit 90]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table  # noqa: E402

CLIENTS = ["builtin", "websocket_client", "websockets", "aiohttp", "gigdesk"]
CASES = ["refresh", "reset", "quiet"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


# ------------------------------------------------------------------ the child: one client, acking everything


def run_sync_client(kind: str, api_url: str, token: str) -> None:
    from slack_sdk import WebClient
    from slack_sdk.socket_mode.response import SocketModeResponse

    web = WebClient(base_url=api_url)
    if kind == "builtin":
        from slack_sdk.socket_mode.builtin import SocketModeClient
        client = SocketModeClient(app_token=token, web_client=web, ping_interval=10)  # Bolt's default interval
    else:
        from slack_sdk.socket_mode.websocket_client import SocketModeClient as WsClient
        client = WsClient(app_token=token, web_client=web, ping_interval=10)

    def ack(c, req) -> None:
        c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.socket_mode_request_listeners.append(ack)
    client.connect()
    while True:
        time.sleep(3600)


def run_async_client(kind: str, api_url: str, token: str) -> None:
    from slack_sdk.socket_mode.response import SocketModeResponse
    from slack_sdk.web.async_client import AsyncWebClient

    async def main() -> None:
        web = AsyncWebClient(base_url=api_url)
        if kind == "websockets":
            from slack_sdk.socket_mode.websockets import SocketModeClient
        else:
            from slack_sdk.socket_mode.aiohttp import SocketModeClient  # type: ignore[assignment]
        client = SocketModeClient(app_token=token, web_client=web, ping_interval=10)

        async def ack(c, req) -> None:
            await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

        client.socket_mode_request_listeners.append(ack)
        await client.connect()
        await asyncio.sleep(10**6)

    asyncio.run(main())


def run_gigdesk_link(api_url: str, token: str) -> None:
    """The link `gigdesk serve` uses, around a Bolt app that acks every request."""
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.socket_link import SocketLink

    app = App(client=WebClient(base_url=api_url, token="xoxb-bench"), token_verification_enabled=False,
              request_verification_enabled=False, signing_secret="unused")
    app.command("/bench")(lambda ack: ack())
    app.event("app_home_opened")(lambda: None)
    link = SocketLink(app, token)
    link.start()
    while True:
        time.sleep(3600)


def child(kind: str, api_url: str, token: str) -> None:
    import logging

    logging.basicConfig(level=logging.CRITICAL)  # the clients log each drop; only the figures matter here
    if kind in ("builtin", "websocket_client"):
        run_sync_client(kind, api_url, token)
    elif kind == "gigdesk":
        run_gigdesk_link(api_url, token)
    else:
        run_async_client(kind, api_url, token)


# ------------------------------------------------------------------ the parent: the stand-in, the faults, the clock


def round_trip(socket_mode, timeout: float) -> bool:
    """An envelope acknowledged on the newest connection within `timeout`."""
    body = {"token": "t", "command": "/bench", "text": "", "user_id": "U_ALICE", "channel_id": "C_REVIEW",
            "team_id": "T0GIGDESK", "api_app_id": "A0GIGDESK", "response_url": "http://127.0.0.1:9/none",
            "trigger_id": "1.2.3"}
    return socket_mode.deliver("slash_commands", body, timeout=timeout) is not None


def measure(kind: str, cases: list[str], limit: float, repeat: int) -> list[list[object]]:
    from sandbox.slack_workspace.server import SlackStandin

    slack = SlackStandin()
    slack.start()
    sm = slack.socket_mode
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, "--api-url", slack.api_url, "--token", slack.app_token],
                            env=env, stderr=subprocess.DEVNULL)
    rows: list[list[object]] = []
    try:
        sm.start()
        conn = sm.wait_connected(20)
        if not round_trip(sm, 10):
            raise RuntimeError(f"{kind}: no ack on the first connection")
        time.sleep(1.0)  # settle: start-up CPU is not charged to the first case
        for case in cases:
            times: list[float] = []
            cpu = wall = 0.0
            gave_up = False
            for _ in range(repeat):
                before_cpu, started = cpu_seconds(proc.pid), time.monotonic()
                if case == "refresh":
                    sm.disconnect("refresh_requested")
                else:
                    sm.drop("reset" if case == "reset" else "quiet")
                try:
                    conn = sm.wait_connected(limit, after=conn.number)
                    recovered = round_trip(sm, max(1.0, limit - (time.monotonic() - started)))
                except TimeoutError:
                    recovered = False
                seconds = time.monotonic() - started
                cpu += cpu_seconds(proc.pid) - before_cpu
                wall += seconds
                if not recovered:
                    gave_up = True
                    break
                times.append(seconds)
                time.sleep(1.0)
            slowest = f"> {limit:.0f} (gave up)" if gave_up else f"{max(times):.2f}"
            median = f"{statistics.median(times):.2f}" if times else "-"
            rows.append([kind, case, len(times), median, slowest, f"{cpu:.2f}", f"{100 * cpu / wall:.0f} %"])
            if gave_up:
                break
    finally:
        proc.kill()
        proc.wait()
        slack.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--limit", type=float, default=90.0, help="seconds to wait for a reconnect before giving up")
    parser.add_argument("--repeat", type=int, default=3, help="drops per case (one client process)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.api_url, args.token)
        return 0
    rows: list[list[object]] = []
    for kind in args.clients.split(","):
        rows.extend(measure(kind, args.cases.split(","), args.limit, args.repeat))
    print("Socket Mode clients after a lost connection (seconds until an envelope is acked again; the client's CPU meanwhile)")
    print(table(["client", "case", "runs", "median s", "slowest s", "CPU s", "CPU / wall"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
