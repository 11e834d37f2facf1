"""Slack Events API deliveries already seen (by event_id)."""

from __future__ import annotations

from storage.db import Database, write


def claim_event(db: Database, event_id: str, now: str, forget_before: str) -> bool:
    """Record `event_id`; False when it was recorded already. Prunes rows older than `forget_before`."""
    with write(db):
        db.execute("DELETE FROM slack_events WHERE received_at < ?", [forget_before])
        cursor = db.execute(
            "INSERT INTO slack_events (event_id, received_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING", [event_id, now]
        )
        return cursor.rowcount == 1
