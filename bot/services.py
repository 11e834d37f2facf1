"""The infrastructure the bot shares: settings, store, Slack and API clients, pools.

Built once at start; the features are built on it by the composition root (bot.app,
bot.features) and this module knows none of them. The Bolt middleware in handlers/
puts both in each request's context so listeners never build their own.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.config import Settings
from bot.observability.slack import MeasuredWebClient
from bot.permissions import Permissions
from bot.rapidworkers.client import RapidWorkersClient
from bot.shared_budget import SharedRequestBudget
from bot.slack.trigger import TriggerAwareRateLimitRetryHandler
from bot.wonolo.client import WonoloClient
from storage.db import Store

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
    permissions: Permissions  # every "who may", with its caches
    wonolo: WonoloClient | None = None  # only with Wonolo keys
    work: ThreadPoolExecutor | None = field(default=None, repr=False)
    # Quick steps that must not queue behind slow API calls on `work` (a click's in-progress state).
    instant: ThreadPoolExecutor | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        store = Store(settings.db_path, url=settings.database_url)
        rw = RapidWorkersClient(
            settings.rapidworkers_api_key,
            settings.rapidworkers_base_url,
            hourly_limit=settings.rw_hourly_limit,
            # Background work stops a tenth early, commands a fifth early: the
            # last slots are for decisions and the review sync (bot.rw.fair_use).
            interactive_reserve=settings.rw_hourly_limit // 10,
            priority_reserve=settings.rw_hourly_limit // 5,
            # in the database: every gigdesk process on it counts against one hourly budget
            budget=SharedRequestBudget(store, settings.rw_hourly_limit, settings.rw_hourly_limit // 10,
                                       priority_reserve=settings.rw_hourly_limit // 5),
        )
        wonolo = None
        if settings.wonolo_enabled:
            wonolo = WonoloClient(cast(str, settings.wonolo_api_key), cast(str, settings.wonolo_secret_key), settings.wonolo_base_url)
        slack = slack_client(settings)
        return cls(
            settings=settings,
            store=store,
            slack=slack,
            rw=rw,
            permissions=Permissions(settings, slack, store),
            wonolo=wonolo,
            # A quarter of GIGDESK_WORKERS (16 by default): enough concurrent API
            # calls for the hourly limit, and few enough that a burst of work
            # does not starve the acks of CPU (benchmarks/ack_latency.py: p99 of
            # 100 simultaneous clicks ~110 ms with 16 workers, ~250 ms with 64).
            work=ThreadPoolExecutor(max_workers=max(4, settings.workers // 4), thread_name_prefix="work"),
            # Each task is one DB write and one chat.update: a few threads keep up with any burst.
            instant=ThreadPoolExecutor(max_workers=4, thread_name_prefix="instant"),
        )
