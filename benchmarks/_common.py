"""Shared helpers of the benchmarks: the simulators, settings, small tables.

Every benchmark runs the real bot code against the bundled RapidWorkers
simulator (sandbox.rapidworkers) and the Slack stand-in (sandbox.slack_workspace), on loopback.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sandbox.rapidworkers import Sandbox  # noqa: E402
from sandbox.slack_workspace.server import SlackStandin  # noqa: E402
from tests.support.harness import bot_env, free_port  # noqa: E402
from tests.support.harness import wait_until as wait_until  # noqa: E402  (re-exported for the benchmarks)


@contextmanager
def simulators(*, post_rate: float | None = None, post_burst: int = 5, sandbox_kw: dict | None = None):
    """(sandbox, slack, workdir): started RapidWorkers simulator and Slack stand-in, a temp dir."""
    sandbox = Sandbox(demo_data=False, hourly_limit=1_000_000, **(sandbox_kw or {}))
    sandbox.start()
    slack = SlackStandin(post_rate=post_rate, post_burst=post_burst)
    slack.start()
    with tempfile.TemporaryDirectory(prefix="gigdesk-bench-") as workdir:
        try:
            yield sandbox, slack, workdir
        finally:
            slack.stop()
            sandbox.stop()


def env_for(slack, sandbox, workdir: str, **overrides: str) -> dict[str, str]:
    # Proof forensics (image downloads and hashing) is measured on its own in
    # benchmarks/forensics.py; the other benchmarks measure the sync without it.
    overrides.setdefault("GIGDESK_FORENSICS", "off")
    return bot_env(slack, sandbox, os.path.join(workdir, "gigdesk.db"), **overrides)


def gigdesk_for(env: dict[str, str]):
    """The bot's services and features (as `gigdesk poll` builds them), without an HTTP server."""
    from bot.app import build
    from bot.config import load_settings

    return build(load_settings(env, dotenv_path=""))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=False))  # noqa: E731
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def review_ids(slack) -> list[int]:
    """Every submission id a review message names (one message each, or a batch of rows), repeats kept."""
    from bot.slack import ids

    found: list[int] = []
    for m in slack.messages("C_REVIEW", include_replies=False):
        meta = m.metadata or {}
        if meta.get("event_type") == ids.SUBMISSION_EVENT:
            found.append(meta["event_payload"]["submission_id"])
        elif meta.get("event_type") == ids.SUBMISSION_BATCH_EVENT:
            found.extend(meta["event_payload"]["submission_ids"])
    return found


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def proc_status(pid: int) -> dict[str, str]:
    """/proc/<pid>/status as a dict (VmRSS, VmHWM, Threads, ...)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def kib_to_mib(value: str) -> float:
    return round(int(value.split()[0]) / 1024, 1)


@contextmanager
def serving(slack, sandbox, workdir: str, count: int, **overrides: str):
    """The real `gigdesk serve` (the console script, else `python -m bot.cli serve`) as a process
    on the simulators, yielded once its start-up sync has posted `count` submissions:
    (process, command, seconds until then). Stopped with SIGINT on leaving."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_"))}
    env.update(env_for(slack, sandbox, workdir, PORT=str(free_port()), GIGDESK_POLL_SECONDS="3600",
                       GIGDESK_POST_INTERVAL_MS="0", **overrides))
    script = Path(sys.executable).with_name("gigdesk")
    command = [str(script), "serve"] if script.exists() else [sys.executable, "-m", "bot.cli", "serve"]
    started = time.monotonic()
    with open(Path(workdir, "serve.log"), "wb") as log:
        proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        posted = wait_until(lambda: len(review_ids(slack)) >= count or proc.poll() is not None, timeout=600, interval=0.2)
        if proc.poll() is not None or not posted:
            raise RuntimeError(f"gigdesk serve stopped or stalled: {Path(workdir, 'serve.log').read_text()[-2000:]}")
        yield proc, command, time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve_simulators(conn, report=None) -> None:
    """Child process: run both simulators until the parent says stop (or goes away); on
    "report", send back `report(slack)` (a module-level function: it crosses a spawn)."""
    sandbox = Sandbox(demo_data=False, hourly_limit=1_000_000)
    sandbox.start()
    slack = SlackStandin()
    slack.start()
    conn.send({"rw_url": sandbox.url, "rw_key": sandbox.api_key, "slack_api_url": slack.api_url, "slack_url": slack.url,
               "slack_app_token": slack.app_token})
    try:
        while (message := conn.recv()) != "stop":
            args = message[1:] if isinstance(message, tuple) else ()
            conn.send(report(slack, *args) if report is not None else None)
    except EOFError:
        pass
    slack.stop()
    sandbox.stop()


class RemoteSimulators:
    """The RapidWorkers simulator and the Slack stand-in in a child process.

    For measurements of the bot alone: in-process simulators would share the
    bot's interpreter lock and charge their CPU to the bot. The sandbox is
    driven through its /_sandbox/ admin endpoints.
    """

    def __init__(self, report=None):
        """`report(slack)`: what `report()` asks of the stand-in in the child (a module-level function)."""
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_simulators, args=(child, report), daemon=True)
        self._proc.start()
        info = self._conn.recv()
        self.url, self.api_key = info["rw_url"], info["rw_key"]  # what bot_env reads of a sandbox
        self.api_url, self.slack_url = info["slack_api_url"], info["slack_url"]  # ... and of a stand-in
        self.app_token = info["slack_app_token"]
        import requests

        self._http = requests.Session()

    def admin(self, method: str, path: str, **kw) -> dict:
        response = self._http.request(method, f"{self.url}/_sandbox/{path}", timeout=30, **kw)
        response.raise_for_status()
        return response.json()

    def add_campaign(self, title: str, **fields) -> str:
        return self.admin("POST", "campaigns", json={"title": title, **fields})["campaign_id"]

    def add_submission(self, campaign_id: str, **fields) -> int:
        return self.admin("POST", "submissions", json={"campaign_id": campaign_id, **fields})["submission_id"]

    def set_latency(self, seconds: float, path_contains: str | None = None) -> None:
        self.admin("POST", "latency", json={"seconds": seconds, "path_contains": path_contains})

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        params = {k: v for k, v in (("method", method), ("path_contains", path_contains)) if v}
        return self.admin("GET", "requests", params=params)["count"]

    def response_url(self) -> str:
        """A response URL nobody registered (the stand-in answers 404): replies are not measured here."""
        return f"{self.slack_url}hooks/unregistered"

    def report(self, *args):
        """What the child's `report(slack, *args)` says now."""
        self._conn.send(("report", *args) if args else "report")
        return self._conn.recv()

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
