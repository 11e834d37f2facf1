"""Digest rows: claim (one scheduled digest a day), record, release."""

from __future__ import annotations

from storage.db import Database, first_row, utcnow, write


def last_posted(db: Database, exclude_id: int | None = None) -> dict | None:
    """The last digest actually posted that recorded a balance."""
    return first_row(
        db.execute(
            "SELECT * FROM digests WHERE ts IS NOT NULL AND balance IS NOT NULL AND id IS DISTINCT FROM ?"
            " ORDER BY posted_at DESC, id DESC LIMIT 1",
            [exclude_id],
        )
    )


def claim(db: Database, kind: str, day: str, channel: str) -> int | None:
    """Insert the digests row and return its id; None when the day's scheduled
    digest is claimed already (a partial unique index refuses a second)."""
    with write(db):
        found = db.execute(
            "INSERT INTO digests (kind, day, posted_at, channel) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            [kind, day, utcnow(), channel],
        ).fetchone()
    return int(found[0]) if found else None


def release(db: Database, row_id: int) -> None:
    """Delete a claim whose message was never posted."""
    with write(db):
        db.execute("DELETE FROM digests WHERE id = ? AND ts IS NULL", [row_id])


def record(db: Database, row_id: int, channel: str, ts: str, balance: str | None) -> None:
    """The claimed digest was posted: keep where, when and the balance it showed."""
    with write(db):
        db.execute(
            "UPDATE digests SET channel = ?, ts = ?, posted_at = ?, balance = ? WHERE id = ?",
            [channel, ts, utcnow(), balance, row_id],
        )


def scheduled_posted(db: Database, day: str) -> bool:
    """Was (or is being) the scheduled digest of this day posted?"""
    row = db.execute("SELECT 1 FROM digests WHERE kind = 'scheduled' AND day = ?", [day]).fetchone()
    return row is not None
