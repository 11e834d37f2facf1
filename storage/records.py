"""Audit trail, campaign counts, blocks, key-value state and spending confirmations."""

from __future__ import annotations

import json

from sqlite_utils import Database

from storage.db import utcnow, write
from storage.rows import AuditEntry, Offer
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


def _audit_from_row(row: dict) -> AuditEntry:
    return AuditEntry(
        id=int(row["id"]), at=row["at"], user_id=row["user_id"], action=row["action"], target=row["target"],
        outcome=row["outcome"], detail=row["detail"], amount=row["amount"],
    )


def audit_since(db: Database, since: str) -> list[AuditEntry]:
    return [_audit_from_row(r) for r in _rows(db.execute("SELECT * FROM audit WHERE at >= ? ORDER BY id", [since]))]


# --- campaign counts -----------------------------------------------------------

def campaign_counts(db: Database) -> dict[str, dict]:
    return {r["campaign_id"]: r for r in _rows(db.execute("SELECT * FROM campaigns"))}


def save_campaign_counts(db: Database, rows: list[dict]) -> None:
    """Upsert the counts seen in this sync (one transaction)."""
    now = utcnow()
    with write(db):
        for row in rows:
            db.execute(
                "INSERT INTO campaigns (campaign_id, title, status, pending, approved, rejected, completed, total, synced_at,"
                " proof_required_description)"
                " VALUES (:campaign_id, :title, :status, :pending, :approved, :rejected, :completed, :total, :now,"
                " :proof_required_description)"
                " ON CONFLICT(campaign_id) DO UPDATE SET title = excluded.title, status = excluded.status,"
                " pending = excluded.pending, approved = excluded.approved, rejected = excluded.rejected,"
                " completed = excluded.completed, total = excluded.total, synced_at = excluded.synced_at,"
                # a listing without the requirement keeps the one already known
                " proof_required_description = coalesce(excluded.proof_required_description, campaigns.proof_required_description)",
                {"proof_required_description": None, **row, "now": now},
            )


def remember_campaign_requirement(db: Database, campaign_id: str, requirement: str) -> None:
    """Cache the proof requirement a campaign was created with (listings may not include it)."""
    with write(db):
        db.execute(
            "INSERT INTO campaigns (campaign_id, proof_required_description) VALUES (?, ?)"
            " ON CONFLICT(campaign_id) DO UPDATE SET proof_required_description = excluded.proof_required_description",
            [campaign_id, requirement],
        )


def campaign_requirement(db: Database, campaign_id: str) -> str | None:
    """The campaign's cached proof_required_description, if known."""
    found = db.execute("SELECT proof_required_description FROM campaigns WHERE campaign_id = ?", [campaign_id]).fetchone()
    return found[0] if found else None


def remember_campaign_keys(db: Database, keys: dict[str, str]) -> None:
    """key -> campaign id of long ids shown in buttons and options (a key always names one id)."""
    with write(db):
        for key, campaign_id in keys.items():
            db.execute("INSERT OR IGNORE INTO campaign_keys (key, campaign_id) VALUES (?, ?)", [key, campaign_id])


def campaign_of_key(db: Database, key: str) -> str | None:
    found = db.execute("SELECT campaign_id FROM campaign_keys WHERE key = ?", [key]).fetchone()
    return found[0] if found else None


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


def _offer_from_row(row: dict) -> Offer:
    return Offer(
        id=row["id"], user_id=row["user_id"], action=row["action"], params=json.loads(row["params"]),
        cost=row["cost"], state=row["state"], created_at=row["created_at"], expires_at=row["expires_at"],
        finished_at=row["finished_at"], result=json.loads(row["result"]) if row["result"] else None,
        taken_at=row["taken_at"], spent_cents=row["spent_cents"], asked_at=row["asked_at"], second_by=row["second_by"],
    )


def get_confirmation(db: Database, confirmation_id: str) -> Offer | None:
    row = _row(db.execute("SELECT * FROM confirmations WHERE id = ?", [confirmation_id]))
    return _offer_from_row(row) if row is not None else None


def take_confirmation(
    db: Database,
    confirmation_id: str,
    now: str,
    *,
    from_state: str = "offered",
    cost_cents: int = 0,
    second_by: str | None = None,
    daily_limit_cents: int | None = None,
    second_above_cents: int | None = None,
    day: tuple[str, str] | None = None,
) -> str:
    """from_state (offered | awaiting_second) -> executing: once, only before it expires and,
    with a daily limit, only if the requester's spends of `day` (UTC ISO bounds) plus this
    one stay within it; with `second_above_cents`, only if they stay at or below that too (else
    a second spender must confirm). The checks and the reservation are one write transaction,
    so two Confirms at once can never both pass a limit, nor split a spend to stay under one.

    Returns "taken", "gone" (not in from_state, or expired), "over-limit" or "needs-second".
    """
    assert from_state in ("offered", "awaiting_second")
    with write(db):
        row = db.execute(
            "SELECT user_id FROM confirmations WHERE id = ? AND state = ? AND expires_at > ?",
            [confirmation_id, from_state, now],
        ).fetchone()
        if row is None:
            return "gone"
        if day is not None and (daily_limit_cents is not None or second_above_cents is not None):
            day_total = _spent_cents(db, row[0], day) + cost_cents
            if daily_limit_cents is not None and day_total > daily_limit_cents:
                return "over-limit"
            if second_above_cents is not None and day_total > second_above_cents:
                return "needs-second"
        db.execute(
            "UPDATE confirmations SET state = 'executing', taken_at = ?, spent_cents = ?,"
            " second_by = coalesce(?, second_by) WHERE id = ?",
            [now, cost_cents, second_by, confirmation_id],
        )
        return "taken"


def _spent_cents(db: Database, user_id: str, day: tuple[str, str]) -> int:
    row = db.execute(
        "SELECT coalesce(sum(spent_cents), 0) FROM confirmations"
        " WHERE user_id = ? AND taken_at >= ? AND taken_at < ? AND spent_cents IS NOT NULL",
        [user_id, day[0], day[1]],
    ).fetchone()
    return int(row[0])


def spent_cents(db: Database, user_id: str, day: tuple[str, str]) -> int:
    """What the user spent (or has under way) between the two UTC ISO bounds."""
    return _spent_cents(db, user_id, day)


def request_second_approval(db: Database, confirmation_id: str, now: str, expires_at: str) -> bool:
    """offered -> awaiting_second (the requester confirmed; another spender must too), once."""
    with write(db):
        cursor = db.execute(
            "UPDATE confirmations SET state = 'awaiting_second', asked_at = ?, expires_at = ?"
            " WHERE id = ? AND state = 'offered' AND expires_at > ?",
            [now, expires_at, confirmation_id, now],
        )
        return cursor.rowcount == 1


def withdraw_second_request(db: Database, confirmation_id: str) -> None:
    """awaiting_second -> offered: the request could not be posted; the requester may try again."""
    with write(db):
        db.execute(
            "UPDATE confirmations SET state = 'offered', asked_at = NULL WHERE id = ? AND state = 'awaiting_second'",
            [confirmation_id],
        )


def finish_confirmation(
    db: Database, confirmation_id: str, state: str, result: dict | None = None, *, spent_cents: int | None = None
) -> None:
    """executing -> done | failed, or cancelled / back to offered | awaiting_second (nothing was
    spent: the daily-limit reservation is released, and Confirm may be clicked again).
    `spent_cents`: what was really spent, when known; otherwise the reservation stays counted."""
    released = state in ("offered", "awaiting_second", "cancelled")
    with write(db):
        db.execute(
            "UPDATE confirmations SET state = ?, finished_at = ?, result = ?,"
            " taken_at = CASE WHEN ? THEN NULL ELSE taken_at END,"
            " spent_cents = CASE WHEN ? THEN NULL ELSE coalesce(?, spent_cents) END WHERE id = ?",
            [state, utcnow(), json.dumps(result) if result is not None else None,
             released, released, spent_cents, confirmation_id],
        )


def cancel_confirmation(db: Database, confirmation_id: str) -> bool:
    with write(db):
        cursor = db.execute(
            "UPDATE confirmations SET state = 'cancelled', finished_at = ?"
            " WHERE id = ? AND state IN ('offered', 'awaiting_second')",
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
