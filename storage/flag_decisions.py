"""What people decided about proof flags, and how widely proof text is used.

* proof_text_uses: the distinctive proof text (fingerprint) of each checked submission, with its
  campaign and worker, so "how many workers use this text" can be counted at any time.
* flag_dismissals: evidence pairs marked "not a problem" (keys made by bot.forensics.judgement).
* trusted_workers: workers whose soft flags are not shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, utcnow, write


@dataclass(frozen=True)
class Decision:
    """Who decided, and when (a dismissal or a trust)."""

    by: str | None
    at: str


def record_text_use(db: Database, submission_id: int, fingerprint: str, *, campaign_id: str | None,
                    worker_id: str | None) -> None:
    """Remember a checked submission's distinctive text (once per submission)."""
    with write(db):
        db.execute(
            "INSERT INTO proof_text_uses (submission_id, fingerprint, campaign_id, worker_id, used_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (submission_id) DO NOTHING",
            [submission_id, fingerprint, campaign_id, worker_id, utcnow()],
        )


def text_sharers(db: Database, fingerprint: str, campaign_id: str | None) -> tuple[int, int]:
    """(workers using this text in the campaign, workers using it anywhere), distinct, recorded so far."""
    row = db.execute(
        "SELECT count(DISTINCT CASE WHEN campaign_id = ? THEN worker_id END), count(DISTINCT worker_id)"
        " FROM proof_text_uses WHERE fingerprint = ?",
        [campaign_id, fingerprint],
    ).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


def text_use(db: Database, submission_id: int) -> tuple[str, str | None] | None:
    """(fingerprint, campaign id) of a submission's recorded text, or None."""
    row = db.execute("SELECT fingerprint, campaign_id FROM proof_text_uses WHERE submission_id = ?", [submission_id]).fetchone()
    return None if row is None else (row[0], row[1])


def dismiss(db: Database, pair_keys: list[str], *, submission_id: int, kind: str, user_id: str | None) -> int:
    """Mark evidence pairs "not a problem"; return how many were new."""
    now, added = utcnow(), 0
    with write(db):
        for key in pair_keys:
            cursor = db.execute(
                "INSERT INTO flag_dismissals (pair_key, submission_id, kind, dismissed_by, dismissed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (pair_key) DO NOTHING",
                [key, submission_id, kind, user_id, now],
            )
            added += cursor.rowcount
    return added


def dismissals(db: Database, pair_keys: list[str]) -> dict[str, Decision]:
    """Which of these evidence pairs were dismissed, by whom and when."""
    found: dict[str, Decision] = {}
    for start in range(0, len(pair_keys), 500):
        chunk = pair_keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for key, by, at in db.execute(
            f"SELECT pair_key, dismissed_by, dismissed_at FROM flag_dismissals WHERE pair_key IN ({marks})", chunk
        ).fetchall():
            found[key] = Decision(by, at)
    return found


def trust(db: Database, worker_id: str, *, worker_name: str | None, user_id: str | None) -> bool:
    """Mark a worker trusted; False if they already were."""
    with write(db):
        cursor = db.execute(
            "INSERT INTO trusted_workers (worker_id, worker_name, trusted_by, trusted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (worker_id) DO NOTHING",
            [worker_id, worker_name, user_id, utcnow()],
        )
        return cursor.rowcount == 1


def untrust(db: Database, worker_id: str) -> bool:
    """Trust no longer; False if the worker was not trusted."""
    with write(db):
        return db.execute("DELETE FROM trusted_workers WHERE worker_id = ?", [worker_id]).rowcount == 1


def trusted(db: Database, worker_id: str | None) -> Decision | None:
    """Who trusted this worker and when, or None."""
    if not worker_id:
        return None
    row = db.execute("SELECT trusted_by, trusted_at FROM trusted_workers WHERE worker_id = ?", [worker_id]).fetchone()
    return None if row is None else Decision(row[0], row[1])


def checked_worker(db: Database, submission_id: int) -> str | None:
    """The worker recorded with a submission's proof check."""
    row = db.execute("SELECT worker_id FROM proof_checks WHERE submission_id = ?", [submission_id]).fetchone()
    return None if row is None else row[0]


def show_again(db: Database, fingerprint: str) -> int:
    """Have the cards of flagged submissions with this text rebuilt (their check marked not shown:
    bot/review/proof_checks.py rebuilds those at the next sync); return how many."""
    with write(db):
        return db.execute(
            "UPDATE proof_checks SET shown = 0 WHERE shown = 1 AND suspicious = 1 AND submission_id IN"
            " (SELECT submission_id FROM proof_text_uses WHERE fingerprint = ?)",
            [fingerprint],
        ).rowcount
