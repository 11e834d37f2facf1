"""Wonolo unfilled-shift alerts: one row per job request (migration 8)."""

from __future__ import annotations

from typing import TypedDict, cast

from storage.db import Database, first_row, utcnow, write


class AlertRow(TypedDict):
    """One unfilled-shift alert: claimed at raised_at, posted once channel and ts are set."""

    job_request_id: str
    raised_at: str
    start_time: str | None
    open_slots: int | None
    channel: str  # the claim names it (claim_alert)
    ts: str | None
    rendered: str | None


def claim_alert(db: Database, job_request_id: str, start_time: str | None, open_slots: int, channel: str) -> bool:
    """Take the one alert of a job request; False if it was raised (or is being raised) before."""
    with write(db):
        cursor = db.execute(
            "INSERT INTO wonolo_alerts (job_request_id, raised_at, start_time, open_slots, channel)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_request_id) DO NOTHING",
            [job_request_id, utcnow(), start_time, open_slots, channel],
        )
        return cursor.rowcount == 1


def record_alert(db: Database, job_request_id: str, channel: str, ts: str, rendered: str) -> None:
    with write(db):
        db.execute("UPDATE wonolo_alerts SET channel = ?, ts = ?, rendered = ? WHERE job_request_id = ?",
                   [channel, ts, rendered, job_request_id])


def release_alert(db: Database, job_request_id: str) -> None:
    """The post failed: a later check may raise the alert again."""
    with write(db):
        db.execute("DELETE FROM wonolo_alerts WHERE job_request_id = ? AND ts IS NULL", [job_request_id])


def alert(db: Database, job_request_id: str) -> AlertRow | None:
    return cast(AlertRow | None, first_row(db.execute("SELECT * FROM wonolo_alerts WHERE job_request_id = ?", [job_request_id])))


def alerted(db: Database, job_request_ids: list[str]) -> set[str]:
    """Which of these job requests had their alert already."""
    if not job_request_ids:
        return set()
    marks = ",".join("?" * len(job_request_ids))
    rows = db.execute(f"SELECT job_request_id FROM wonolo_alerts WHERE job_request_id IN ({marks})",
                      list(job_request_ids)).fetchall()
    return {r[0] for r in rows}


def alerts_raised_since(db: Database, since: str) -> int:
    return int(db.execute("SELECT COUNT(*) FROM wonolo_alerts WHERE raised_at >= ? AND ts IS NOT NULL",
                          [since]).fetchone()[0])
