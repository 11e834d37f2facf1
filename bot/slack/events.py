"""Each Slack event is handled once, however often Slack delivers it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.slack_events import claim_event

# Slack retries a delivery three times, the last about five minutes after the
# first; an hour leaves room for a restart in between.
REMEMBER_EVENTS_FOR = timedelta(hours=1)


def first_delivery(store, event_id: str) -> bool:
    """True the first time `event_id` is seen; False for Slack's retries of it."""
    now = datetime.now(UTC)
    return claim_event(
        store.db, event_id, now.isoformat(timespec="microseconds"),
        (now - REMEMBER_EVENTS_FOR).isoformat(timespec="microseconds"),
    )
