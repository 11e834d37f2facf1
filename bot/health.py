"""GET /readyz: can this `gigdesk serve` do its work right now? Each problem in words.

Ready means: the database answers; a review sync (this replica's, or the leader's:
bot/leader.py) finished without errors within 3 × GIGDESK_POLL_SECONDS (or the process
started less than that ago);
Slack accepts the bot token (auth.test, asked at most every AUTH_CHECK_SECONDS);
and in Socket Mode, the link to Slack is connected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.connectivity import slack_outage
from bot.observability.signals import SIGNALS
from bot.services import Services
from bot.slack import errors as slack_errors
from storage.db import Database, backend_name, ping
from storage.kv import kv_get, kv_set

AUTH_CHECK_SECONDS = 30.0
AUTH_TIMEOUT_SECONDS = 3  # a probe is answered in seconds, whatever Slack does
SYNC_PERIODS = 3  # a sync older than this many GIGDESK_POLL_SECONDS is not recent
GOOD_SYNC_KEY = "review_sync.last_ok_at"  # kv: when the leader's last sync without errors finished (UTC)


def record_good_sync(db: Database) -> None:
    """Tell every replica that a review sync just finished without errors (the leader syncs for all)."""
    kv_set(db, GOOD_SYNC_KEY, datetime.now(UTC).isoformat())


def seconds_since_shared_good_sync(db: Database) -> float | None:
    """How long ago any replica's last review sync without errors finished (None: never, or unreadable)."""
    try:
        last = kv_get(db, GOOD_SYNC_KEY)
        return (datetime.now(UTC) - datetime.fromisoformat(last)).total_seconds() if last else None
    except Exception:  # the database check reports an unreachable database
        return None


@dataclass
class SyncHealth:
    """What the scheduled review sync last did (set by bot.app.Background)."""

    started_at: float
    last_ok_at: float | None = None
    last_problem: str | None = None

    def finished(self, errors: list[str]) -> None:
        if errors:
            self.last_problem = errors[0].splitlines()[0]
        else:
            self.last_ok_at, self.last_problem = time.monotonic(), None

    def seconds_since_good(self, db: Database) -> float | None:
        """Seconds since the last review sync without errors: this replica's, or the leader's
        (stored in the database; a follower does not sync itself), whichever is more recent.
        None: neither has finished one yet."""
        own = time.monotonic() - self.last_ok_at if self.last_ok_at is not None else None
        ages = [age for age in (own, seconds_since_shared_good_sync(db)) if age is not None]
        return min(ages) if ages else None
        SIGNALS.sync_finished(self.last_problem)


class Readiness:
    """The /readyz verdict: (ready, {check: "ok…" or the problem})."""

    def __init__(self, services: Services, sync: SyncHealth, link_problem: Callable[[], str | None] | None = None):
        self.services = services
        self.sync = sync
        self.link_problem = link_problem
        settings = services.settings
        # Its own client: no retries, a short timeout (the bot's client waits out 429s and slow answers).
        self._slack = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=AUTH_TIMEOUT_SECONDS)
        self._auth: tuple[float, str | None] = (float("-inf"), None)
        self._auth_lock = threading.Lock()

    def check(self) -> tuple[bool, dict[str, str]]:
        checks = {"database": self._database(), "review_sync": self._review_sync(), "slack_auth": self._slack_auth()}
        if self.link_problem is not None:
            checks["socket_mode"] = self.link_problem() or "ok: connected"
        return all(v.startswith("ok") for v in checks.values()), checks

    def _database(self) -> str:
        try:
            version = ping(self.services.store)
        except Exception as e:  # never the path or URL: a database URL holds a password
            return f"the database does not answer ({type(e).__name__}): check GIGDESK_DB or GIGDESK_DATABASE_URL and the disk"
        return f"ok: {backend_name(self.services.store)}, schema version {version}"

    def _review_sync(self) -> str:
        """Recent: this replica's last good sync, or the leader's (a follower does not sync itself)."""
        limit = SYNC_PERIODS * self.services.settings.poll_seconds
        age = self.sync.seconds_since_good(self.services.store.db)
        if age is not None and age <= limit:
            return f"ok: {age:.0f} s ago"
        running = time.monotonic() - self.sync.started_at
        if age is None and running <= limit:
            return "ok: starting (no sync finished yet)"
        since = f"{age:.0f} s ago" if age is not None else f"never, in {running:.0f} s since the start"
        why = f"; the last one said: {self.sync.last_problem}" if self.sync.last_problem else ""
        return f"no review sync finished without errors within {limit} s (3 × GIGDESK_POLL_SECONDS); the last was {since}{why}"

    def _slack_auth(self) -> str:
        with self._auth_lock:
            checked_at, problem = self._auth
            if time.monotonic() - checked_at >= AUTH_CHECK_SECONDS:
                problem = self._ask_slack()
                self._auth = (time.monotonic(), problem)
        return problem or "ok"

    def _ask_slack(self) -> str | None:
        settings = self.services.settings
        try:
            self._slack.auth_test()
        except SlackApiError as e:
            error = str(e.response.get("error"))
            if error in slack_errors.TOKEN_ERRORS:
                return f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token again from the app's OAuth & Permissions page"
            return slack_outage(e, settings.slack_api_url) or f"Slack answered auth.test with {error}"
        except Exception as e:
            return slack_outage(e, settings.slack_api_url) or f"Slack auth.test failed ({type(e).__name__})"
        return None
