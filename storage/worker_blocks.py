"""Workers blocked through gigdesk (the `worker_blocks` table)."""

from __future__ import annotations

from storage.db import Database, first_row, utcnow, write


def record_block(db: Database, worker_id: str, worker_name: str | None, blocked_by: str | None) -> None:
    with write(db):
        db.execute(
            "INSERT INTO worker_blocks (worker_id, worker_name, blocked_by, blocked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (worker_id) DO UPDATE SET blocked_by = excluded.blocked_by, blocked_at = excluded.blocked_at,"
            " worker_name = coalesce(excluded.worker_name, worker_blocks.worker_name)",
            [worker_id, worker_name, blocked_by, utcnow()],
        )


def remove_block(db: Database, worker_id: str) -> None:
    with write(db):
        db.execute("DELETE FROM worker_blocks WHERE worker_id = ?", [worker_id])


def block_of(db: Database, worker_id: str | None) -> dict | None:
    if worker_id is None:
        return None
    return first_row(db.execute("SELECT * FROM worker_blocks WHERE worker_id = ?", [worker_id]))
