"""What the digest and the App Home say about Wonolo: tomorrow's shifts, fill rate, alerts
raised, estimated spend. Never raises for Wonolo trouble: it becomes `error`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.wonolo.client import WonoloError, estimated_cost
from bot.wonolo_desk.alerts import as_utc
from bot.wonolo_desk.blocks import WonoloSummary
from bot.wonolo_desk.scan import scan_requests
from storage import wonolo as alerts_store

SUMMARY_CACHE_SECONDS = 20.0  # App Home opens share one Wonolo scan
UPCOMING_STATES = ("unassigned", "posted", "filled")
WORKED_STATES = ("filled", "in_progress", "completed", "approved")


def _tomorrows(upcoming: list, now: datetime) -> list:
    tomorrow = (now + timedelta(days=1)).date()
    return [jr for jr in upcoming if as_utc(jr.start_time).astimezone(now.tzinfo).date() == tomorrow]


def _spend(worked: list) -> Decimal:
    """Estimated wages of the slots filled on shifts that were worked."""
    return sum((estimated_cost(jr.slots_filled or 0, jr.duration, jr.wage) or Decimal("0") for jr in worked),
               Decimal("0"))


def summarise(found: list, now: datetime, alerts_raised: int) -> WonoloSummary:
    """The summary of these job requests as of `now` (pure)."""
    since = now - timedelta(hours=24)
    dated = sorted((jr for jr in found if jr.start_time is not None), key=lambda jr: as_utc(jr.start_time))
    upcoming = [jr for jr in dated if jr.state in UPCOMING_STATES and as_utc(jr.start_time) >= now]
    tomorrows = _tomorrows(upcoming, now)
    worked = [jr for jr in dated if jr.state in WORKED_STATES and since <= as_utc(jr.start_time) < now]
    return WonoloSummary(
        tomorrow=tomorrows, upcoming=upcoming,
        slots=sum(jr.slots or 0 for jr in tomorrows),
        filled=sum(min(jr.slots_filled or 0, jr.slots or 0) for jr in tomorrows),
        alerts_raised=alerts_raised, spend=_spend(worked), spend_shifts=len(worked),
    )


class Summaries:
    """Scans Wonolo for the digest and the App Home (the App Home's scan is cached briefly)."""

    def __init__(self, store: Any, client: Any):
        self.store = store
        self.client = client
        self._lock = threading.Lock()
        self._cache: tuple[float, WonoloSummary] | None = None

    def summary(self, now: datetime, *, fresh: bool = True) -> WonoloSummary:
        """With fresh=False (App Home) a scan younger than SUMMARY_CACHE_SECONDS is reused."""
        with self._lock:
            cached = self._cache
            if not fresh and cached is not None and time.monotonic() - cached[0] < SUMMARY_CACHE_SECONDS:
                return cached[1]
            result = self._gather(now)
            self._cache = (time.monotonic(), result)
            return result

    def _gather(self, now: datetime) -> WonoloSummary:
        since = (now - timedelta(hours=24)).astimezone(UTC).isoformat()
        alerts_raised = alerts_store.alerts_raised_since(self.store.db, since)
        try:
            found = {str(jr.id): jr for state in dict.fromkeys(UPCOMING_STATES + WORKED_STATES)
                     for jr in scan_requests(self.client, state)}
        except WonoloError as e:
            return WonoloSummary(alerts_raised=alerts_raised, error=str(e))
        return summarise(list(found.values()), now, alerts_raised)
