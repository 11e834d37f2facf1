"""Campaign routes (/rw route) and the once-per-submission reminder claims."""

from __future__ import annotations

from storage.db import Database, utcnow, write
from storage.rows import SubmissionRow
from storage.submissions import submission_rows


def set_route(db: Database, campaign_id: str, channel: str, user_id: str) -> str | None:
    """Send a campaign's submissions to `channel`; returns the channel it had before, if any."""
    with write(db):
        before = db.execute("SELECT channel FROM routes WHERE campaign_id = ?", [campaign_id]).fetchone()
        db.execute(
            "INSERT INTO routes (campaign_id, channel, set_by, set_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(campaign_id) DO UPDATE SET channel = excluded.channel, set_by = excluded.set_by, set_at = excluded.set_at",
            [campaign_id, channel, user_id, utcnow()],
        )
    return before[0] if before else None


def remove_route(db: Database, campaign_id: str) -> str | None:
    """Back to the review channel; returns the channel the campaign was routed to, if any."""
    with write(db):
        before = db.execute("SELECT channel FROM routes WHERE campaign_id = ?", [campaign_id]).fetchone()
        db.execute("DELETE FROM routes WHERE campaign_id = ?", [campaign_id])
    return before[0] if before else None


def all_routes(db: Database) -> dict[str, str]:
    """campaign_id -> channel."""
    return {r[0]: r[1] for r in db.execute("SELECT campaign_id, channel FROM routes ORDER BY campaign_id")}


def route_rows(db: Database) -> list[dict]:
    names = ("campaign_id", "channel", "set_by", "set_at")
    return [dict(zip(names, r, strict=True)) for r in db.execute(f"SELECT {', '.join(names)} FROM routes ORDER BY campaign_id")]


def unreminded_waiting(db: Database) -> list[SubmissionRow]:
    """Posted submissions still waiting for a decision that were never reminded of."""
    return submission_rows(db.execute(
        "SELECT s.* FROM submissions s LEFT JOIN reminders r ON r.submission_id = s.submission_id"
        " WHERE s.state = 'posted' AND s.ts IS NOT NULL AND r.submission_id IS NULL ORDER BY s.submission_id"
    ))


def claim_reminders(db: Database, submission_ids: list[int], channel: str) -> list[int]:
    """Take the reminder of each submission; returns the ones taken here (never reminded before)."""
    taken = []
    with write(db):
        now = utcnow()
        for sid in submission_ids:
            cursor = db.execute(
                "INSERT INTO reminders (submission_id, reminded_at, channel) VALUES (?, ?, ?) ON CONFLICT (submission_id) DO NOTHING", [sid, now, channel]
            )
            if cursor.rowcount == 1:
                taken.append(sid)
    return taken


def release_reminders(db: Database, submission_ids: list[int]) -> None:
    """The nudge certainly was not posted: the next run may remind of these again."""
    with write(db):
        for sid in submission_ids:
            db.execute("DELETE FROM reminders WHERE submission_id = ?", [sid])
