"""The audit trail: every click and every spend, allowed or not (the `audit` table)."""

from __future__ import annotations

from storage.db import Database, all_rows, utcnow, write
from storage.rows import AuditEntry


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


def audit_entry_from_row(row: dict) -> AuditEntry:
    """An `audit` row (as a dict) as an AuditEntry."""
    return AuditEntry(
        id=int(row["id"]), at=row["at"], user_id=row["user_id"], action=row["action"], target=row["target"],
        outcome=row["outcome"], detail=row["detail"], amount=row["amount"],
    )


def audit_since(db: Database, since: str) -> list[AuditEntry]:
    return [audit_entry_from_row(r) for r in all_rows(db.execute("SELECT * FROM audit WHERE at >= ? ORDER BY id", [since]))]
