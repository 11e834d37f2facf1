"""The App Home's Health section, gathered (bot.digest.home renders it).

Facts from this process (last sync, errors in the last hour, budget), from the database (Wonolo's
last webhook and poll, open incidents, routes) and from the settings (who may review and spend,
the limits). Shown to allowed users only.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from bot.observability.signals import SIGNALS
from storage import incidents as incident_store
from storage import kv as kv_store
from storage import routes as route_store
from storage.incidents import IncidentRow

log = logging.getLogger("gigdesk.home")

WONOLO_LAST_WEBHOOK = "wonolo_last_webhook_at"  # kv keys written by the Wonolo desk
WONOLO_LAST_POLL = "wonolo_last_poll_at"


def version() -> str:
    try:
        return importlib.metadata.version("gigdesk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class HealthFacts:
    version: str
    last_sync_at: float | None = None  # epoch seconds
    last_sync_problem: str | None = None
    wonolo_enabled: bool = False
    last_webhook_at: str | None = None  # ISO
    last_poll_at: str | None = None
    budget_left: int = 0
    budget_limit: int = 0
    errors_last_hour: int = 0
    incidents: tuple[IncidentRow, ...] = ()
    review_channel: str | None = None
    reviewers: frozenset[str] = frozenset()  # empty: the review channel's members (not guests)
    spenders: frozenset[str] = frozenset()
    daily_spend_limit: Decimal | None = None
    second_approval_above: Decimal | None = None
    hourly_limit: int = 0
    poll_seconds: int = 0
    routes: dict[str, str] = field(default_factory=dict)  # campaign id -> channel


def health_facts(services) -> HealthFacts:
    settings, db = services.settings, services.store.db
    return HealthFacts(
        version=version(),
        last_sync_at=SIGNALS.last_sync_at,
        last_sync_problem=SIGNALS.last_sync_problem,
        wonolo_enabled=settings.wonolo_enabled,
        last_webhook_at=kv_store.kv_get(db, WONOLO_LAST_WEBHOOK),
        last_poll_at=kv_store.kv_get(db, WONOLO_LAST_POLL),
        budget_left=services.rw.budget.remaining(priority=True),  # the whole hour, as the metric
        budget_limit=settings.rw_hourly_limit,
        errors_last_hour=SIGNALS.errors_within(),
        incidents=tuple(incident_store.open_incidents(db)),
        review_channel=settings.review_channel,
        reviewers=settings.allowed_users,
        spenders=settings.spenders,
        daily_spend_limit=settings.daily_spend_limit,
        second_approval_above=settings.second_approval_above,
        hourly_limit=settings.rw_hourly_limit,
        poll_seconds=settings.poll_seconds,
        routes=route_store.all_routes(db),
    )


def health_for(services, user_id: str | None) -> HealthFacts | None:
    """The Health section's facts for an allowed user; None for anyone else (or when who may review is unknown)."""
    try:
        if not user_id or not services.permissions.may_review(user_id):
            return None
        return health_facts(services)
    except Exception as e:  # the rest of the home still shows
        log.warning("App Home health section left out: %s", type(e).__name__)
        return None
