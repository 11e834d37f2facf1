"""Incidents (bot.incidents): open until they clear, announced once, stored across restarts.

Guarded statements only, in SQL PostgreSQL runs too: an incident is opened by the one statement
that finds it absent or cleared, and closed by the one that finds it open.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from storage.db import write

_COLUMNS = "key, state, opened_at, detail, channel, ts, cleared_at"


@dataclass(frozen=True)
class IncidentRow:
    key: str
    state: str  # "open" or "clear"
    opened_at: str
    detail: str | None
    channel: str | None  # where it was announced; None: not yet
    ts: str | None
    cleared_at: str | None


def get(db: Database, key: str) -> IncidentRow | None:
    found = db.execute(f"SELECT {_COLUMNS} FROM incidents WHERE key = ?", [key]).fetchone()
    return IncidentRow(*found) if found else None


def open_incident(db: Database, key: str, detail: str, now: str) -> bool:
    """Open the incident unless it is open already; True when this call opened it."""
    with write(db):
        cursor = db.execute(
            "INSERT INTO incidents (key, state, opened_at, detail) VALUES (?, 'open', ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET state = 'open', opened_at = excluded.opened_at, detail = excluded.detail,"
            " channel = NULL, ts = NULL, cleared_at = NULL WHERE incidents.state = 'clear'",
            [key, now, detail],
        )
        return cursor.rowcount == 1


def announced(db: Database, key: str, channel: str, ts: str) -> None:
    with write(db):
        db.execute("UPDATE incidents SET channel = ?, ts = ? WHERE key = ? AND state = 'open'", [channel, ts, key])


def close_incident(db: Database, key: str, now: str) -> IncidentRow | None:
    """Clear an open incident; its row as it was (None: it was not open)."""
    with write(db):
        row = get(db, key)
        if row is None or row.state != "open":
            return None
        cursor = db.execute("UPDATE incidents SET state = 'clear', cleared_at = ? WHERE key = ? AND state = 'open'", [now, key])
        return row if cursor.rowcount == 1 else None


def open_incidents(db: Database) -> list[IncidentRow]:
    return [IncidentRow(*r) for r in db.execute(f"SELECT {_COLUMNS} FROM incidents WHERE state = 'open' ORDER BY opened_at, key").fetchall()]
