"""Decisions, jobs and flags that happened before, written as gigdesk writes them when they happen,
with the times given: the offline demo's fortnight of history (sandbox/demo/history.py) is recorded
here, beside the same charges in the RapidWorkers simulator, so `/rw spend`, `/rw audit` and the
digest's weekly picture read it exactly as they read production records."""

from __future__ import annotations

import json

from storage.db import Database, write

_AUDIT = "INSERT INTO audit (at, user_id, action, target, outcome, detail, amount) VALUES (?, ?, ?, ?, ?, ?, ?)"


def record_past_decision(db: Database, *, submission_id: int, campaign_id: str, worker_id: str, data: dict, outcome: str,
                         decided_by: str, at: str, amount_paid: str | None = None, notes: str | None = None) -> None:
    """A submission posted and decided at `at` (approved with `amount_paid`, or rejected with `notes`), and its audit entry."""
    assert outcome in ("approved", "rejected")
    with write(db):
        db.execute(
            "INSERT INTO submissions (submission_id, campaign_id, worker_id, state, data, claimed_at, posted_at, decided_by,"
            " decided_at, outcome, amount_paid, notes, decided_via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'slack')",
            [submission_id, campaign_id, worker_id, outcome, json.dumps(data), at, at, decided_by, at, outcome, amount_paid, notes],
        )
        db.execute(_AUDIT, [at, decided_by, "approve" if outcome == "approved" else "reject", str(submission_id), outcome,
                            notes, amount_paid])


def record_past_job(db: Database, *, job_id: str, kind: str, title: str, cost: str, created_by: str, at: str, what: str) -> None:
    """A job created through gigdesk at `at` for `cost`, and its audit entry."""
    with write(db):
        db.execute("INSERT INTO jobs_created (job_id, kind, title, cost, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                   [job_id, kind, title, cost, created_by, at])
        db.execute(_AUDIT, [at, created_by, f"job-{'custom' if kind == 'custom' else 'prefilled'}", job_id, "created", what, cost])


def record_past_flag(db: Database, *, submission_id: int, worker_id: str, at: str, flags: list[dict]) -> None:
    """A submission the proof checks flagged at `at`."""
    with write(db):
        db.execute("INSERT INTO proof_checks (submission_id, worker_id, submitted_at, flags, suspicious, checked_at)"
                   " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (submission_id) DO NOTHING", [submission_id, worker_id, at, json.dumps(flags), at])
