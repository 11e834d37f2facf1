"""Audit trail, campaign counts, blocks, key-value state and spending confirmations."""

from __future__ import annotations

import json

from sqlite_utils import Database

from storage.db import utcnow, write
from storage.submissions import _row, _rows


# --- audit -----------------------------------------------------------------

def audit(
    db: Database,
    user_id: str | None,
    action: str,
    target: str | None,
    outcome: str,
    detail: str | None = None,
    amount: str | None = None,
) -> None:
    """Record one click or spend, allowed or not."""
    with write(db):
        db.execute(
            "INSERT INTO audit (at, user_id, action, target, outcome, detail, amount) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [utcnow(), user_id, action, target, outcome, detail, amount],
        )


def audit_since(db: Database, since: str) -> list[dict]:
    return _rows(db.execute("SELECT * FROM audit WHERE at >= ? ORDER BY id", [since]))


# --- campaign counts -----------------------------------------------------------

def campaign_counts(db: Database) -> dict[str, dict]:
    return {r["campaign_id"]: r for r in _rows(db.execute("SELECT * FROM campaigns"))}


def save_campaign_counts(db: Database, rows: list[dict]) -> None:
    """Upsert the counts seen in this sync (one transaction)."""
    now = utcnow()
    with write(db):
        for row in rows:
            db.execute(
                "INSERT INTO campaigns (campaign_id, title, status, pending, approved, rejected, completed, total, synced_at)"
                " VALUES (:campaign_id, :title, :status, :pending, :approved, :rejected, :completed, :total, :now)"
                " ON CONFLICT(campaign_id) DO UPDATE SET title = excluded.title, status = excluded.status,"
                " pending = excluded.pending, approved = excluded.approved, rejected = excluded.rejected,"
                " completed = excluded.completed, total = excluded.total, synced_at = excluded.synced_at",
                {**row, "now": now},
            )


def forget_campaign_counts(db: Database, campaign_id: str) -> None:
    """Make the next sync read this campaign's submissions again."""
    with write(db):
        db.execute("DELETE FROM campaigns WHERE campaign_id = ?", [campaign_id])


# --- worker blocks -------------------------------------------------------------

def record_block(db: Database, worker_id: str, worker_name: str | None, blocked_by: str | None) -> None:
    with write(db):
        db.execute(
            "INSERT INTO worker_blocks (worker_id, worker_name, blocked_by, blocked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(worker_id) DO UPDATE SET blocked_by = excluded.blocked_by, blocked_at = excluded.blocked_at,"
            " worker_name = coalesce(excluded.worker_name, worker_blocks.worker_name)",
            [worker_id, worker_name, blocked_by, utcnow()],
        )


def remove_block(db: Database, worker_id: str) -> None:
    with write(db):
        db.execute("DELETE FROM worker_blocks WHERE worker_id = ?", [worker_id])


def block_of(db: Database, worker_id: str | None) -> dict | None:
    if worker_id is None:
        return None
    return _row(db.execute("SELECT * FROM worker_blocks WHERE worker_id = ?", [worker_id]))


# --- key-value -----------------------------------------------------------------

def kv_get(db: Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchone()
    return default if row is None else row[0]


def kv_set(db: Database, key: str, value: str | None) -> None:
    with write(db):
        db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


# --- spending confirmations ----------------------------------------------------------

def create_confirmation(
    db: Database, confirmation_id: str, user_id: str, action: str, params: dict, cost: str | None, expires_at: str
) -> None:
    with write(db):
        db.execute(
            "INSERT INTO confirmations (id, user_id, action, params, cost, state, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, 'offered', ?, ?)",
            [confirmation_id, user_id, action, json.dumps(params), cost, utcnow(), expires_at],
        )


def get_confirmation(db: Database, confirmation_id: str) -> dict | None:
    row = _row(db.execute("SELECT * FROM confirmations WHERE id = ?", [confirmation_id]))
    if row is not None:
        row["params"] = json.loads(row["params"])
        row["result"] = json.loads(row["result"]) if row["result"] else None
    return row


def take_confirmation(db: Database, confirmation_id: str, now: str) -> bool:
    """offered -> executing, once, and only before it expires."""
    with write(db):
        cursor = db.execute(
            "UPDATE confirmations SET state = 'executing' WHERE id = ? AND state = 'offered' AND expires_at > ?",
            [confirmation_id, now],
        )
        return cursor.rowcount == 1


def finish_confirmation(db: Database, confirmation_id: str, state: str, result: dict | None = None) -> None:
    """executing/offered -> done | failed | cancelled | offered (retry allowed after a failure)."""
    with write(db):
        db.execute(
            "UPDATE confirmations SET state = ?, finished_at = ?, result = ? WHERE id = ?",
            [state, utcnow(), json.dumps(result) if result is not None else None, confirmation_id],
        )


def cancel_confirmation(db: Database, confirmation_id: str) -> bool:
    with write(db):
        cursor = db.execute(
            "UPDATE confirmations SET state = 'cancelled', finished_at = ? WHERE id = ? AND state = 'offered'",
            [utcnow(), confirmation_id],
        )
        return cursor.rowcount == 1


def record_job(db: Database, job_id: str, confirmation_id: str | None, kind: str, title: str | None, cost: str | None, created_by: str | None) -> None:
    with write(db):
        db.execute(
            "INSERT OR IGNORE INTO jobs_created (job_id, confirmation_id, kind, title, cost, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [job_id, confirmation_id, kind, title, cost, created_by, utcnow()],
        )


def jobs_since(db: Database, since: str) -> list[dict]:
    return _rows(db.execute("SELECT * FROM jobs_created WHERE created_at >= ? ORDER BY created_at", [since]))
