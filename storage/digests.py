"""Digest rows (claim, record, release) and the 'completed campaign reported' marks."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from storage.db import utcnow, write
from storage.submissions import _row


def last_posted(db: Database, exclude_id: int | None = None) -> dict | None:
    """The last digest actually posted that recorded a balance."""
    return _row(
        db.execute(
            "SELECT * FROM digests WHERE ts IS NOT NULL AND balance IS NOT NULL AND id IS NOT ?"
            " ORDER BY posted_at DESC, id DESC LIMIT 1",
            [exclude_id],
        )
    )


def claim(db: Database, kind: str, day: str, channel: str) -> int | None:
    """Insert the digests row and return its id; None when the day's scheduled
    digest is claimed already (a partial unique index refuses a second)."""
    try:
        with write(db):
            cursor = db.execute(
                "INSERT INTO digests (kind, day, posted_at, channel) VALUES (?, ?, ?, ?)",
                [kind, day, utcnow(), channel],
            )
            return cursor.lastrowid
    except sqlite3.IntegrityError:
        return None


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


def mark_completed_seen(db: Database, rows: list[dict]) -> None:
    """Mark these campaigns (campaign-count rows) as reported completed, keeping an earlier mark."""
    now = utcnow()
    with write(db):
        for row in rows:
            db.execute(
                "INSERT INTO campaigns (campaign_id, title, status, pending, approved, rejected, completed, total,"
                " synced_at, completed_seen_at) VALUES (:campaign_id, :title, :status, :pending, :approved,"
                " :rejected, :completed, :total, :now, :now)"
                " ON CONFLICT(campaign_id) DO UPDATE SET"
                " completed_seen_at = coalesce(campaigns.completed_seen_at, excluded.completed_seen_at)",
                {**row, "now": now},
            )
