"""Run the real bot on loopback, between the Slack stand-in and the simulators."""

from __future__ import annotations

import threading
import time

import requests

from bot.app import build_services, make_server
from bot.config import load_settings
from tests.support.slack_requests import SIGNING_SECRET, SlackPoster

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
    }
    env.update(overrides)
    return env


class RunningBot:
    """`gigdesk serve`'s WSGI app in a real waitress server on 127.0.0.1."""

    def __init__(self, env: dict[str, str]):
        self.settings = load_settings(env, dotenv_path="")
        self.server, self.services = make_server(self.settings, build_services(self.settings), host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.events_url = self.url + "/slack/events"
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "RunningBot":
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("bot did not start")

    @property
    def review(self):
        return self.services.review

    @property
    def db(self):
        return self.services.store.db

    def poster(self) -> SlackPoster:
        return SlackPoster(self.events_url)

    def stop(self) -> None:
        self.server.close()
        self._thread.join(timeout=5)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value or raise AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
