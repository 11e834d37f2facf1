"""Posted submissions and the decision state machine.

claimed -> posted -> approving | rejecting -> approved | rejected
Every transition is one guarded UPDATE, so two clicks can never both win.
"""

from __future__ import annotations

import json
from typing import Any

from storage.db import Database, all_rows, first_row, utcnow, write
from storage.rows import SubmissionRow

WAITING = ("claimed", "posted", "approving", "rejecting")
IN_FLIGHT = ("approving", "rejecting")
DECIDED = ("approved", "rejected")


def submission_from_row(row: dict) -> SubmissionRow:
    """A `submissions` row (as a dict) as a SubmissionRow, its data decoded."""
    return SubmissionRow(
        submission_id=int(row["submission_id"]), campaign_id=row["campaign_id"], worker_id=row["worker_id"],
        state=row["state"], data=json.loads(row["data"]), channel=row["channel"], ts=row["ts"],
        claimed_at=row["claimed_at"], posted_at=row["posted_at"], acting_user=row["acting_user"],
        acting_since=row["acting_since"], decided_by=row["decided_by"], decided_at=row["decided_at"],
        outcome=row["outcome"], amount_paid=row["amount_paid"], notes=row["notes"], decided_via=row["decided_via"],
        target_channel=row["target_channel"], batch_row=row["batch_row"],
        claimed_by=row["claimed_by"], claim_heartbeat=row["claim_heartbeat"],
    )


def submission_rows(cursor: Any) -> list[SubmissionRow]:
    """Every remaining row of a `SELECT * FROM submissions ...` cursor as SubmissionRows."""
    return [submission_from_row(r) for r in all_rows(cursor)]


def get(db: Database, submission_id: int) -> SubmissionRow | None:
    """The stored row, with `data` decoded."""
    row = first_row(db.execute("SELECT * FROM submissions WHERE submission_id = ?", [submission_id]))
    return submission_from_row(row) if row is not None else None


def known_ids(db: Database, submission_ids: list[int]) -> set[int]:
    """Which of these submissions were claimed already."""
    if not submission_ids:
        return set()
    found: set[int] = set()
    for start in range(0, len(submission_ids), 500):
        chunk = submission_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(f"SELECT submission_id FROM submissions WHERE submission_id IN ({marks})", chunk))
    return found


def posted_pays(db: Database) -> list:
    """The stored pay of each submission posted in Slack and waiting for a decision (None if unknown)."""
    return [pay for (pay,) in db.execute("SELECT json_extract(data, '$.pay') FROM submissions WHERE state = 'posted'")]


def claim(db: Database, submission_id: int, campaign_id: str, worker_id: str | None, data: dict,
          target_channel: str | None = None, batch_row: int | None = None, owner: str | None = None) -> bool:
    """Claim a submission for posting (into `target_channel`; `batch_row` set: as a row of a
    batch message, so a recovery posts it in one again) by `owner`; False when it was claimed before."""
    with write(db):
        now = utcnow()
        cursor = db.execute(
            "INSERT INTO submissions (submission_id, campaign_id, worker_id, state, data, claimed_at,"
            " target_channel, batch_row, claimed_by, claim_heartbeat) VALUES (?, ?, ?, 'claimed', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (submission_id) DO NOTHING",
            [submission_id, campaign_id, worker_id, json.dumps(data), now, target_channel, batch_row, owner, now],
        )
        return cursor.rowcount == 1


def beat_claims(db: Database, owner: str, now: str) -> None:
    """The owner is alive: its unposted claims are not to be taken over."""
    with write(db):
        db.execute("UPDATE submissions SET claim_heartbeat = ? WHERE state = 'claimed' AND claimed_by = ?", [now, owner])


def take_over_claim(db: Database, submission_id: int, owner: str, previous: str | None) -> bool:
    """Make an abandoned claim ours (guarded: only while `previous` still holds it)."""
    with write(db):
        cursor = db.execute(
            "UPDATE submissions SET claimed_by = ?, claim_heartbeat = ? WHERE submission_id = ? AND state = 'claimed'"
            " AND claimed_by IS NOT DISTINCT FROM ?",
            [owner, utcnow(), submission_id, previous],
        )
        return cursor.rowcount == 1


def unposted(db: Database) -> list[SubmissionRow]:
    """Claims whose message was not recorded as posted (a crash, or Slack failed)."""
    return submission_rows(db.execute("SELECT * FROM submissions WHERE state = 'claimed' ORDER BY submission_id"))


def mark_posted(db: Database, submission_id: int, channel: str, ts: str, batch_row: int | None = None) -> None:
    """Record where the review message lives (and, in a batch message, which row is this one)."""
    with write(db):
        db.execute(
            "UPDATE submissions SET state = 'posted', channel = ?, ts = ?, posted_at = ?, batch_row = ?"
            " WHERE submission_id = ? AND state = 'claimed'",
            [channel, ts, utcnow(), batch_row, submission_id],
        )


def mark_batch_posted(db: Database, submission_ids: list[int], channel: str, ts: str) -> None:
    """Record one batch message for all its rows at once (row n: submission_ids[n])."""
    with write(db):
        now = utcnow()
        for row, sid in enumerate(submission_ids):
            db.execute(
                "UPDATE submissions SET state = 'posted', channel = ?, ts = ?, posted_at = ?, batch_row = ?"
                " WHERE submission_id = ? AND state = 'claimed'",
                [channel, ts, now, row, sid],
            )


def batch_rows(db: Database, channel: str, ts: str) -> list[SubmissionRow]:
    """Every submission shown in one batch message, in row order."""
    return submission_rows(db.execute(
        "SELECT * FROM submissions WHERE channel = ? AND ts = ? AND batch_row IS NOT NULL ORDER BY batch_row",
        [channel, ts],
    ))


def release_claim(db: Database, submission_id: int) -> None:
    """Forget a claim whose message never reached Slack, so it is posted again."""
    with write(db):
        db.execute("DELETE FROM submissions WHERE submission_id = ? AND state = 'claimed'", [submission_id])


def begin_decision(db: Database, submission_id: int, in_flight_state: str, user_id: str) -> bool:
    """Move posted -> approving/rejecting; True only for the one caller that wins."""
    assert in_flight_state in IN_FLIGHT
    with write(db):
        cursor = db.execute(
            "UPDATE submissions SET state = ?, acting_user = ?, acting_since = ?"
            " WHERE submission_id = ? AND state = 'posted'",
            [in_flight_state, user_id, utcnow(), submission_id],
        )
        return cursor.rowcount == 1


def begin_bulk_approval(db: Database, submission_id: int, campaign_id: str, worker_id: str | None, data: dict, user_id: str) -> bool:
    """A bulk approval takes one submission: posted -> approving by the same guard as a click,
    or, for one never posted, a new row straight in 'approving'. False when a reviewer
    (or the sync, still posting it) got there first: the bulk must leave it alone."""
    with write(db):
        cursor = db.execute(
            "INSERT INTO submissions (submission_id, campaign_id, worker_id, state, data, claimed_at,"
            " acting_user, acting_since) VALUES (?, ?, ?, 'approving', ?, ?, ?, ?) ON CONFLICT (submission_id) DO NOTHING",
            [submission_id, campaign_id, worker_id, json.dumps(data), utcnow(), user_id, utcnow()],
        )
        if cursor.rowcount == 1:
            return True
        cursor = db.execute(
            "UPDATE submissions SET state = 'approving', acting_user = ?, acting_since = ?"
            " WHERE submission_id = ? AND state = 'posted'",
            [user_id, utcnow(), submission_id],
        )
        return cursor.rowcount == 1


def undo_bulk_approval(db: Database, submission_id: int) -> None:
    """The bulk's approve certainly did not happen (or RapidWorkers had decided it already):
    a posted submission is actionable again; one the bulk took unposted is forgotten, so
    the sync posts it if it is still pending."""
    with write(db):
        db.execute("DELETE FROM submissions WHERE submission_id = ? AND state = 'approving' AND ts IS NULL", [submission_id])
        db.execute(
            "UPDATE submissions SET state = 'posted', acting_user = NULL, acting_since = NULL"
            " WHERE submission_id = ? AND state = 'approving'",
            [submission_id],
        )


def finish_decision(
    db: Database,
    submission_id: int,
    outcome: str,
    *,
    decided_by: str | None,
    amount_paid: str | None = None,
    notes: str | None = None,
    via: str = "slack",
) -> None:
    """Store a decision that RapidWorkers confirmed (approved/rejected)."""
    assert outcome in DECIDED
    with write(db):
        db.execute(
            "UPDATE submissions SET state = ?, decided_by = ?, decided_at = ?, outcome = ?,"
            " amount_paid = ?, notes = ?, decided_via = ?, acting_user = NULL, acting_since = NULL"
            " WHERE submission_id = ? AND state NOT IN ('approved', 'rejected')",
            [outcome, decided_by, utcnow(), outcome, amount_paid, notes, via, submission_id],
        )


def revert_decision(db: Database, submission_id: int) -> None:
    """The API call failed: make the submission actionable again."""
    with write(db):
        db.execute(
            "UPDATE submissions SET state = 'posted', acting_user = NULL, acting_since = NULL"
            " WHERE submission_id = ? AND state IN ('approving', 'rejecting')",
            [submission_id],
        )


def in_flight(db: Database) -> list[SubmissionRow]:
    """Decisions that were under way when the bot stopped."""
    return submission_rows(db.execute("SELECT * FROM submissions WHERE state IN ('approving', 'rejecting')"))


def posted(db: Database, *, campaign_id: str | None = None, worker_id: str | None = None) -> list[SubmissionRow]:
    """Posted, undecided submissions, optionally of one campaign or worker."""
    sql = "SELECT * FROM submissions WHERE state IN ('posted', 'approving', 'rejecting')"
    params: list = []
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        params.append(campaign_id)
    if worker_id is not None:
        sql += " AND worker_id = ?"
        params.append(worker_id)
    return submission_rows(db.execute(sql + " ORDER BY submission_id", params))


def waiting_summary(db: Database) -> dict:
    """How many posted submissions wait for a decision, and the oldest one."""
    count = db.execute("SELECT count(*) FROM submissions WHERE state = 'posted'").fetchone()[0]
    oldest = first_row(
        db.execute("SELECT * FROM submissions WHERE state = 'posted' ORDER BY claimed_at, submission_id LIMIT 1")
    )
    return {"count": count, "oldest": submission_from_row(oldest) if oldest is not None else None}


def recent_decisions(db: Database, since: str, limit: int | None = None) -> list[SubmissionRow]:
    """Decisions made since an ISO timestamp, newest first."""
    sql = "SELECT * FROM submissions WHERE decided_at >= ? ORDER BY decided_at DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return submission_rows(db.execute(sql, [since]))
