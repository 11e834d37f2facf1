"""Leases: a named job held by one owner at a time across processes, until it expires.

The holder renews `expires_at` while it works; a row whose `expires_at` has passed is free.
Plain rows and guarded statements, so processes on one SQLite file and (later) replicas on one
PostgreSQL database take turns the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, write


@dataclass(frozen=True)
class LeaseRow:
    name: str
    owner: str
    host: str | None
    pid: int | None
    acquired_at: str
    heartbeat_at: str
    expires_at: str


def _lease(db: Database, name: str) -> LeaseRow | None:
    found = db.execute(
        "SELECT name, owner, host, pid, acquired_at, heartbeat_at, expires_at FROM leases WHERE name = ?", [name]
    ).fetchone()
    return LeaseRow(*found) if found else None


def take(db: Database, name: str, owner: str, host: str, pid: int, now: str, expires_at: str,
         *, replacing: str | None = None) -> LeaseRow | None:
    """Take the lease when it is free, expired, already ours, or still held by `replacing` (an
    owner the caller found gone). Returns None when taken, else the row of its live holder."""
    with write(db):
        held = _lease(db, name)
        if held is not None and held.expires_at > now and held.owner not in (owner, replacing):
            return held
        db.execute(
            "INSERT INTO leases (name, owner, host, pid, acquired_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,"
            " acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
            [name, owner, host, pid, now, now, expires_at],
        )
        return None


def renew(db: Database, name: str, owner: str, now: str, expires_at: str) -> bool:
    """Extend the owner's lease; False when it is not (any more) theirs."""
    with write(db):
        cursor = db.execute(
            "UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE name = ? AND owner = ?",
            [now, expires_at, name, owner],
        )
        return cursor.rowcount == 1


def release(db: Database, name: str, owner: str) -> None:
    with write(db):
        db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", [name, owner])


def holder(db: Database, name: str) -> LeaseRow | None:
    """The lease's row, live or expired (None: never taken or released)."""
    return _lease(db, name)
