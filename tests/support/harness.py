"""Run the real bot on loopback, between the Slack stand-in and the simulators."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.app import Gigdesk, HttpListener, Serving, make_server
from bot.config import load_settings
from bot.features import Features
from bot.services import Services
from tests.support.slack_requests import SIGNING_SECRET, SlackPoster, SocketPoster

BOT_TOKEN = "xoxb-test-token"


def bot_env(slack, sandbox, db_path: str, **overrides: str) -> dict[str, str]:
    """Settings for a bot wired to the stand-ins (no .env file is read)."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "RAPIDWORKERS_API_KEY": sandbox.api_key,
        "RAPIDWORKERS_BASE_URL": sandbox.url,
        "GIGDESK_DB": db_path,
        "GIGDESK_REVIEW_CHANNEL": "C_REVIEW",
        "GIGDESK_POST_INTERVAL_MS": "0",
        "GIGDESK_WORKERS": "64",
        # The product default is that nobody may spend (tests/bot/spending/test_trust_money.py); the
        # tests' two channel members are made spenders explicitly.
        "GIGDESK_SPENDERS": "U_ALICE,U_BOB",
    }
    env.update(overrides)
    return env


class _BotHere:
    """What the tests read of a bot running in this process."""

    gigdesk: Gigdesk
    services: Services
    features: Features

    @property
    def review(self):
        return self.features.review

    @property
    def db(self):
        return self.services.store.db


class RunningBot(_BotHere):
    """`gigdesk serve`'s WSGI app in a real waitress server on 127.0.0.1."""

    def __init__(self, env: dict[str, str]):
        self.settings = load_settings(env, dotenv_path="")
        self.server, self.gigdesk = make_server(self.settings, host="127.0.0.1", port=0)
        self.services, self.features = self.gigdesk.services, self.gigdesk.features
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.events_url = self.url + "/slack/events"
        self._http = HttpListener(self.server, name="bot-http")

    def start(self) -> RunningBot:
        self._http.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("bot did not start")

    def poster(self, standin=None) -> SlackPoster:
        return SlackPoster(self.events_url, standin=standin)

    def stop(self) -> None:
        self._http.stop()
        self.services.store.close()  # a PostgreSQL pool's connections and threads end with the bot


class SocketBot(_BotHere):
    """`gigdesk serve`'s Socket Mode path in this process (bot.app.Serving, without the scheduled
    jobs): the link to the stand-in's Socket Mode server, HTTP for health on 127.0.0.1."""

    def __init__(self, env: dict[str, str], standin):
        self.standin = standin
        self.settings = load_settings(env, dotenv_path="")
        self.serving = Serving(self.settings, host="127.0.0.1", port=0, jobs=False)
        self.gigdesk, self.services, self.features = self.serving.gigdesk, self.serving.services, self.serving.features
        self.url = self.serving.url
        self.events_url = None  # Slack's requests come over the socket

    def start(self) -> SocketBot:
        self.serving.start()
        link = self.serving.link
        assert link is not None
        wait_for(lambda: link.state == "connected")
        return self

    def poster(self, standin=None) -> SocketPoster:
        return SocketPoster(self.standin.socket_mode, standin=standin)

    def stop(self) -> None:
        self.serving.stop()
        self.services.store.close()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value (its last, falsy value at the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value or raise AssertionError."""
    value = wait_until(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"condition not met within {timeout}s")
    return value


REPO = Path(__file__).resolve().parents[2]
_OWN_PREFIXES = ("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """`python -m bot.cli <args>` in a subprocess, as `gigdesk <args>` runs.

    The environment is `env` over this process's, minus any gigdesk setting
    of the developer's; the working directory is `workdir` (no .env there),
    and stdout/stderr go to files in it (read them with .output()).
    """

    def __init__(self, env: dict[str, str], *args: str, workdir: str | os.PathLike):
        self.workdir = Path(workdir)
        self.args = args
        self.env = dict(env)  # the settings it was started with (its ports)
        self.port = int(env["PORT"]) if "PORT" in env else None
        full = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES) and k != "PORT"}
        full["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        full.update(env)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(args))[:80] or "bot"
        n = 1
        while (self.workdir / f"{name}.{n}.out").exists():
            n += 1
        self._out = self.workdir / f"{name}.{n}.out"
        self._err = self.workdir / f"{name}.{n}.err"
        with open(self._out, "wb") as out, open(self._err, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=full, cwd=self.workdir, stdout=out, stderr=err)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 20.0) -> BotProcess:
        """For `serve`: wait until GET /healthz answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gigdesk {' '.join(self.args)} exited {self.proc.returncode}: {self.output()[1][-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("bot process did not start")

    def wait(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill9(self) -> None:
        """SIGKILL: no cleanup of any kind, as a crash or an OOM kill."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Ctrl-C (SIGINT), then SIGKILL if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()

    def output(self) -> tuple[str, str]:
        """(stdout, stderr) so far."""
        return (self._out.read_text(errors="replace"), self._err.read_text(errors="replace"))
