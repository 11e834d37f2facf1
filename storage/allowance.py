"""Each person's allowance of `/rw` look-ups that reach RapidWorkers (migration 16), shared by
every gigdesk process: a sliding window of call times per user. Counting a call is one write
transaction (the count and the insert), so two replicas can never both give a person their last one."""

from __future__ import annotations

import secrets

from storage.db import Database, write


def take_call(db: Database, user_id: str, now: float, window: float, limit: int) -> float | None:
    """Count one call of `user_id` at `now` if fewer than `limit` were counted within `window`
    seconds (None); else count nothing and return when the oldest of those was made."""
    with write(db):
        db.execute("DELETE FROM user_calls WHERE at_epoch <= ?", [now - window])
        count, oldest = db.execute("SELECT count(*), min(at_epoch) FROM user_calls WHERE user_id = ?", [user_id]).fetchone()
        if int(count) >= limit:
            return float(oldest)
        db.execute("INSERT INTO user_calls (id, user_id, at_epoch) VALUES (?, ?, ?)", [secrets.token_hex(8), user_id, now])
        return None
