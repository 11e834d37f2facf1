"""The long-lived objects the bot shares: settings, store, API clients.

Built once at start; the Bolt middleware in handlers/ puts them in each
request's context so listeners never build their own.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.config import Settings
from bot.observability.slack import MeasuredWebClient
from bot.rapidworkers.client import RapidWorkersClient
from bot.slack.trigger import TriggerAwareRateLimitRetryHandler
from storage.db import Store

if TYPE_CHECKING:  # the features import Services; only the type checker needs them here
    from bot.commands.service import CommandService
    from bot.digest.service import DigestService
    from bot.reports.service import ReportService
    from bot.review.service import ReviewService
    from bot.wonolo.client import WonoloClient
    from bot.wonolo_desk.service import WonoloDesk

log = logging.getLogger("gigdesk")


class ReconnectUnlessPosting(ConnectionErrorRetryHandler):
    """One retry after a dropped connection, but never of chat.postMessage: Slack may have
    stored the message before the connection dropped, and a repeat would post it twice."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if request.url.rstrip("/").endswith("/chat.postMessage"):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def slack_client(settings: Settings) -> WebClient:
    """A WebClient that waits out 429s (Retry-After) but never repeats a 5xx, nor a post
    whose connection dropped.

    A 5xx or a dropped connection from chat.postMessage may still have posted; the
    review sync finds such messages by their metadata instead of posting again. Calls bound
    to a trigger_id (bot.slack.trigger) give up on a 429 rather than wait past it.
    """
    return MeasuredWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[ReconnectUnlessPosting(max_retry_count=1), TriggerAwareRateLimitRetryHandler(max_retry_count=5)],
    )


@dataclass
class Services:
    settings: Settings
    store: Store
    slack: WebClient
    rw: RapidWorkersClient
    wonolo: WonoloClient | None = None
    # The features, attached by bot.app.build_services (the composition root) right after build().
    review: ReviewService = None  # type: ignore[assignment]
    commands: CommandService = None  # type: ignore[assignment]
    digest: DigestService = None  # type: ignore[assignment]
    reports: ReportService = None  # type: ignore[assignment]
    wonolo_desk: WonoloDesk | None = None  # only with Wonolo keys
    work: ThreadPoolExecutor | None = field(default=None, repr=False)
    # Quick steps that must not queue behind slow API calls on `work` (a click's in-progress state).
    instant: ThreadPoolExecutor | None = field(default=None, repr=False)
    _members: tuple[float, frozenset[str]] = field(default=(0.0, frozenset()), repr=False)
    _guests: dict[str, tuple[float, bool]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        rw = RapidWorkersClient(
            settings.rapidworkers_api_key,
            settings.rapidworkers_base_url,
            hourly_limit=settings.rw_hourly_limit,
            # Background work stops a tenth early, commands a fifth early: the
            # last slots are for decisions and the review sync (bot.commands.fair_use).
            interactive_reserve=settings.rw_hourly_limit // 10,
            priority_reserve=settings.rw_hourly_limit // 5,
        )
        wonolo = None
        if settings.wonolo_enabled:
            from bot.wonolo.client import WonoloClient

            wonolo = WonoloClient(cast(str, settings.wonolo_api_key), cast(str, settings.wonolo_secret_key), settings.wonolo_base_url)
        return cls(
            settings=settings,
            store=Store(settings.db_path),
            slack=slack_client(settings),
            rw=rw,
            wonolo=wonolo,
            # A quarter of GIGDESK_WORKERS (16 by default): enough concurrent API
            # calls for the hourly limit, and few enough that a burst of work
            # does not starve the acks of CPU (benchmarks/ack_latency.py: p99 of
            # 100 simultaneous clicks ~110 ms with 16 workers, ~250 ms with 64).
            work=ThreadPoolExecutor(max_workers=max(4, settings.workers // 4), thread_name_prefix="work"),
            # Each task is one DB write and one chat.update: a few threads keep up with any burst.
            instant=ThreadPoolExecutor(max_workers=4, thread_name_prefix="instant"),
        )

    def is_allowed(self, user_id: str | None) -> bool:
        """May review (approve, reject, block): GIGDESK_ALLOWED_USERS, or when empty,
        members of the review channel who are not guests (cached 60 s)."""
        if not user_id:
            return False
        if self.settings.allowed_users:
            return user_id in self.settings.allowed_users
        return user_id in self._review_members() and not self._is_guest(user_id)

    def is_review_member(self, user_id: str) -> bool:
        """In the review channel (guest or not; cached 60 s)."""
        return user_id in self._review_members()

    def may_spend(self, user_id: str | None) -> bool:
        """May spend (job creation, approve-all): only GIGDESK_SPENDERS, which defaults to
        GIGDESK_ALLOWED_USERS; channel membership never grants it. Neither set: nobody."""
        return bool(user_id) and user_id in self.settings.spenders

    def _is_guest(self, user_id: str) -> bool:
        """Slack guests (single- and multi-channel: is_ultra_restricted / is_restricted), by users.info."""
        with self._lock:
            seen = self._guests.get(user_id)
            if seen is not None and time.monotonic() - seen[0] < 60:
                return seen[1]
        user = self.slack.users_info(user=user_id).get("user") or {}
        guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted") or user.get("deleted"))
        with self._lock:
            self._guests[user_id] = (time.monotonic(), guest)
        return guest

    def _review_members(self) -> frozenset[str]:
        with self._lock:
            fetched_at, members = self._members
            if time.monotonic() - fetched_at < 60 and members:
                return members
            found: set[str] = set()
            # Slack wants a limit "under 1000" and recommends 200; the SDK follows the cursor.
            for page in self.slack.conversations_members(channel=cast(str, self.settings.review_channel), limit=200):
                found.update(page.get("members", []))
            self._members = (time.monotonic(), frozenset(found))
            return self._members[1]
