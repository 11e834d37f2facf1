"""Spend offers (the `confirmations` table): offered -> (awaiting_second ->) executing -> done |
failed | cancelled. Confirm takes an offer once, within the daily limit, by one guarded write."""

from __future__ import annotations

import json

from storage.db import Database, first_row, utcnow, write
from storage.rows import Offer


def create_confirmation(
    db: Database, confirmation_id: str, user_id: str, action: str, params: dict, cost: str | None, expires_at: str
) -> None:
    with write(db):
        db.execute(
            "INSERT INTO confirmations (id, user_id, action, params, cost, state, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, 'offered', ?, ?)",
            [confirmation_id, user_id, action, json.dumps(params), cost, utcnow(), expires_at],
        )


def offer_from_row(row: dict) -> Offer:
    """A `confirmations` row (as a dict) as an Offer, its JSON decoded."""
    return Offer(
        id=row["id"], user_id=row["user_id"], action=row["action"], params=json.loads(row["params"]),
        cost=row["cost"], state=row["state"], created_at=row["created_at"], expires_at=row["expires_at"],
        finished_at=row["finished_at"], result=json.loads(row["result"]) if row["result"] else None,
        taken_at=row["taken_at"], spent_cents=row["spent_cents"], asked_at=row["asked_at"], second_by=row["second_by"],
    )


def get_confirmation(db: Database, confirmation_id: str) -> Offer | None:
    row = first_row(db.execute("SELECT * FROM confirmations WHERE id = ?", [confirmation_id]))
    return offer_from_row(row) if row is not None else None


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
            day_total = spent_cents(db, row[0], day) + cost_cents
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


def spent_cents(db: Database, user_id: str, day: tuple[str, str]) -> int:
    """What the user spent (or has under way) between the two UTC ISO bounds."""
    row = db.execute(
        "SELECT coalesce(sum(spent_cents), 0) FROM confirmations"
        " WHERE user_id = ? AND taken_at >= ? AND taken_at < ? AND spent_cents IS NOT NULL",
        [user_id, day[0], day[1]],
    ).fetchone()
    return int(row[0])


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
