"""Typed rows read from the database: frozen dataclasses for the tables the features read most.

Each is built from a row in one place, its storage module's `..._from_row`. Smaller tables type
their rows as TypedDicts beside their queries (storage/wonolo.py, wonolo_desk.py, forensics.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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


@dataclass(frozen=True)
class Offer:
    """A spend offer (the `confirmations` table): `params` and `result` decoded from JSON."""

    id: str
    user_id: str
    action: str
    params: dict
    cost: str | None
    state: str
    created_at: str
    expires_at: str
    finished_at: str | None
    result: dict | None
    taken_at: str | None
    spent_cents: int | None
    asked_at: str | None
    second_by: str | None

    @property
    def cost_amount(self) -> Decimal:
        """The offered cost as a Decimal (every offer is created with one)."""
        if self.cost is None:
            raise TypeError(f"offer {self.id[:8]} has no cost")
        return Decimal(self.cost)


@dataclass(frozen=True)
class SubmissionRow:
    """A claimed submission and its decision state (the `submissions` table): `data` decoded
    from JSON (Submission.to_dict())."""

    submission_id: int
    campaign_id: str
    worker_id: str | None
    state: str
    data: dict
    channel: str | None
    ts: str | None
    claimed_at: str
    posted_at: str | None
    acting_user: str | None
    acting_since: str | None
    decided_by: str | None
    decided_at: str | None
    outcome: str | None
    amount_paid: str | None
    notes: str | None
    decided_via: str | None
    target_channel: str | None
    batch_row: int | None
    claimed_by: str | None = None  # the owner (host/pid/instance) that claimed it for posting
    claim_heartbeat: str | None = None  # when that owner last showed it is alive
