"""Typed rows read from the database (one frozen dataclass per table the features read).

Each is built from a sqlite row in one place, its storage module's `_from_row`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditEntry:
    """One audited click or spend (the `audit` table)."""

    id: int
    at: str
    user_id: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None
    amount: str | None
