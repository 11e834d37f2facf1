"""The RapidWorkers hourly request budget shared by every gigdesk process (migration 12): a
sliding window of request times. Taking a slot is one write transaction (the count and the
insert), so two replicas can never both take the last one."""

from __future__ import annotations

import secrets

from storage.db import Database, write


def take_slot(db: Database, now: float, window: float, limit: int) -> bool:
    """Count one request at `now` if fewer than `limit` were sent within `window` seconds."""
    with write(db):
        db.execute("DELETE FROM rw_requests WHERE at_epoch <= ?", [now - window])
        used = int(db.execute("SELECT count(*) FROM rw_requests").fetchone()[0])
        if used >= limit:
            return False
        db.execute("INSERT INTO rw_requests (id, at_epoch) VALUES (?, ?)", [secrets.token_hex(8), now])
        return True


def used(db: Database, now: float, window: float) -> int:
    """Requests sent within `window` seconds before `now`."""
    return int(db.execute("SELECT count(*) FROM rw_requests WHERE at_epoch > ?", [now - window]).fetchone()[0])


def nth_in_window(db: Database, now: float, window: float, n: int) -> float | None:
    """The time of the n-th oldest (0-based) request still in the window (None: fewer)."""
    row = db.execute("SELECT at_epoch FROM rw_requests WHERE at_epoch > ? ORDER BY at_epoch LIMIT 1 OFFSET ?",
                     [now - window, n]).fetchone()
    return float(row[0]) if row else None
