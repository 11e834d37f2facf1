"""Proof forensics records: image hashes, text fingerprints, and the flags of each check."""

from __future__ import annotations

import json
from typing import TypedDict, cast

from storage.db import Database, all_rows, utcnow, write


class SubmissionSeen(TypedDict):
    """A submission as the evidence shows it: its review state, message and worker."""

    state: str | None
    channel: str | None
    ts: str | None
    worker_name: str | None
    worker_id: str | None


class ImageOwner(SubmissionSeen):
    """A stored proof image's submission and image number."""

    id: int
    submission_id: int
    image_no: int


class SameTextSubmission(SubmissionSeen):
    submission_id: int


class WorkerHistoryRow(TypedDict):
    """One submission of a worker with its proof flags (decoded; [] when never checked)."""

    submission_id: int
    campaign_id: str
    state: str
    claimed_at: str
    amount_paid: str | None
    campaign_title: str | None
    worker_name: str | None
    flags: list[dict]
    suspicious: int | None


def stored_flags(db: Database, submission_id: int) -> list[dict] | None:
    """The flags recorded when the submission was checked; None if it never was."""
    row = db.execute("SELECT flags FROM proof_checks WHERE submission_id = ?", [submission_id]).fetchone()
    return None if row is None else json.loads(row[0])


def _ids_among(db: Database, sql: str, submission_ids: list[int]) -> set[int]:
    """The ids a query with `IN ({marks})` returns for these submissions, asked 500 at a time."""
    found: set[int] = set()
    for start in range(0, len(submission_ids), 500):
        chunk = submission_ids[start : start + 500]
        found.update(r[0] for r in db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk))
    return found


def suspicious_ids(db: Database, submission_ids: list[int]) -> set[int]:
    """Which of these submissions carry a forensics flag (duplicate, copied text, burst)."""
    return _ids_among(db, "SELECT submission_id FROM proof_checks WHERE suspicious = 1 AND submission_id IN ({marks})", submission_ids)


def suspicious_waiting_count(db: Database) -> int:
    """Posted submissions awaiting a decision that carry a forensics flag (for the digest)."""
    return db.execute(
        "SELECT count(*) FROM proof_checks c JOIN submissions s ON s.submission_id = c.submission_id"
        " WHERE c.suspicious = 1 AND s.state = 'posted'"
    ).fetchone()[0]


def hashes_since(db: Database, after_id: int) -> list[tuple[int, int, int]]:
    """(id, phash, dhash) of hashed images stored after a row id."""
    return [tuple(r) for r in db.execute(
        "SELECT id, phash, dhash FROM proof_images WHERE id > ? AND phash IS NOT NULL ORDER BY id", [after_id]
    ).fetchall()]


def _submission_columns(alias: str) -> str:
    return (
        f"s.state AS state, s.channel AS channel, s.ts AS ts,"
        f" json_extract(s.data, '$.worker_name') AS worker_name, {alias}.worker_id AS worker_id"
    )


def image_owners(db: Database, image_ids: list[int]) -> dict[int, ImageOwner]:
    """image id -> its submission, worker, image number and that submission's review state."""
    if not image_ids:
        return {}
    marks = ",".join("?" * len(image_ids))
    rows = all_rows(db.execute(
        f"SELECT i.id AS id, i.submission_id AS submission_id, i.image_no AS image_no, {_submission_columns('i')}"
        f" FROM proof_images i LEFT JOIN submissions s ON s.submission_id = i.submission_id WHERE i.id IN ({marks})",
        image_ids,
    ))
    return {r["id"]: cast(ImageOwner, r) for r in rows}


def same_text(db: Database, fingerprint: str, *, other_than_worker: str | None, limit: int = 5) -> list[SameTextSubmission]:
    """Earlier submissions of other workers with the same proof-text fingerprint."""
    rows = db.execute(
        f"SELECT c.submission_id AS submission_id, {_submission_columns('c')}"
        " FROM proof_checks c LEFT JOIN submissions s ON s.submission_id = c.submission_id"
        " WHERE c.text_fingerprint = ? AND c.worker_id IS DISTINCT FROM ? ORDER BY c.submission_id LIMIT ?",
        [fingerprint, other_than_worker, limit],
    )
    return cast(list[SameTextSubmission], all_rows(rows))


def worker_times(db: Database, worker_id: str, since: str, until: str) -> list[str]:
    """submitted_at of the worker's checked submissions in [since, until]."""
    return [r[0] for r in db.execute(
        "SELECT submitted_at FROM proof_checks WHERE worker_id = ? AND submitted_at >= ? AND submitted_at <= ?"
        " ORDER BY submitted_at",
        [worker_id, since, until],
    ).fetchall()]


def submission_states(db: Database, submission_ids: list[int]) -> dict[int, SubmissionSeen]:
    """Current review state, message and worker name of submissions (for evidence)."""
    if not submission_ids:
        return {}
    marks = ",".join("?" * len(submission_ids))
    rows = all_rows(db.execute(
        f"SELECT s.submission_id AS submission_id, {_submission_columns('s')} FROM submissions s"
        f" WHERE s.submission_id IN ({marks})",
        submission_ids,
    ))
    return {r["submission_id"]: cast(SubmissionSeen, r) for r in rows}


def save_check(
    db: Database,
    submission_id: int,
    *,
    worker_id: str | None,
    submitted_at: str | None,
    text_fingerprint: str | None,
    images: list[dict],
    flags: list[dict],
    suspicious: bool = False,
) -> bool:
    """Record one submission's check in one transaction; False if it was recorded before.

    images: dicts with image_no, url, phash, dhash (signed) or error.
    """
    now = utcnow()
    with write(db):
        cursor = db.execute(
            "INSERT INTO proof_checks (submission_id, worker_id, submitted_at, text_fingerprint, flags, suspicious, checked_at, shown)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (submission_id) DO NOTHING",
            [submission_id, worker_id, submitted_at, text_fingerprint, json.dumps(flags), int(suspicious), now],
        )
        if cursor.rowcount != 1:
            return False
        for image in images:
            db.execute(
                "INSERT INTO proof_images (submission_id, worker_id, image_no, url, phash, dhash, error, checked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (submission_id, image_no) DO NOTHING",
                [submission_id, worker_id, image["image_no"], image.get("url"), image.get("phash"), image.get("dhash"), image.get("error"), now],
            )
        return True


# States of a posted submission that still waits for (or is getting) a decision.
_UNDECIDED = "('posted', 'approving', 'rejecting')"


def unfinished_ids(db: Database, submission_ids: list[int]) -> set[int]:
    """Which of these submissions gigdesk has taken up (claimed or posted) without a finished proof check."""
    return _ids_among(db, "SELECT s.submission_id FROM submissions s LEFT JOIN proof_checks c ON c.submission_id = s.submission_id"
                          " WHERE c.submission_id IS NULL AND s.submission_id IN ({marks})", submission_ids)


def begin_check(db: Database, submission_id: int, owner: str) -> int:
    """Record that `owner` (a process: bot.leases owner id) starts a check of the submission now; return
    how many times one has started."""
    with write(db):
        db.execute(
            "INSERT INTO proof_check_runs (submission_id, attempts, started_at, owner) VALUES (?, 1, ?, ?)"
            " ON CONFLICT (submission_id) DO UPDATE SET attempts = attempts + 1, started_at = excluded.started_at,"
            " owner = excluded.owner",
            [submission_id, utcnow(), owner],
        )
        return db.execute("SELECT attempts FROM proof_check_runs WHERE submission_id = ?", [submission_id]).fetchone()[0]


def checks_to_resume(db: Database, limit: int = 200) -> list[tuple[int, dict, str | None, str | None]]:
    """(submission_id, data, started_at, owner) of posted, undecided submissions with no finished
    check, oldest first (started_at and owner None when no check of it ever started)."""
    rows = db.execute(
        "SELECT s.submission_id, s.data, r.started_at, r.owner FROM submissions s"
        " LEFT JOIN proof_checks c ON c.submission_id = s.submission_id"
        " LEFT JOIN proof_check_runs r ON r.submission_id = s.submission_id"
        f" WHERE c.submission_id IS NULL AND s.state IN {_UNDECIDED} AND s.ts IS NOT NULL"
        " ORDER BY s.claimed_at, s.submission_id LIMIT ?",
        [limit],
    ).fetchall()
    return [(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]


def results_not_shown(db: Database, limit: int = 200) -> list[int]:
    """Posted, undecided submissions whose finished check their card does not show yet."""
    return [r[0] for r in db.execute(
        "SELECT c.submission_id FROM proof_checks c JOIN submissions s ON s.submission_id = c.submission_id"
        f" WHERE c.shown = 0 AND s.state IN {_UNDECIDED} AND s.ts IS NOT NULL ORDER BY c.submission_id LIMIT ?",
        [limit],
    ).fetchall()]


def mark_shown(db: Database, submission_id: int) -> None:
    with write(db):
        db.execute("UPDATE proof_checks SET shown = 1 WHERE submission_id = ?", [submission_id])


def worker_history(db: Database, worker_id: str) -> list[WorkerHistoryRow]:
    """Every submission of a worker that gigdesk has seen, newest first, with its proof flags."""
    rows = all_rows(db.execute(
        "SELECT s.submission_id AS submission_id, s.campaign_id AS campaign_id, s.state AS state,"
        " s.claimed_at AS claimed_at, s.amount_paid AS amount_paid,"
        " json_extract(s.data, '$.campaign_title') AS campaign_title, json_extract(s.data, '$.worker_name') AS worker_name,"
        " c.flags AS flags, c.suspicious AS suspicious"
        " FROM submissions s LEFT JOIN proof_checks c ON c.submission_id = s.submission_id"
        " WHERE s.worker_id = ? ORDER BY s.submission_id DESC",
        [worker_id],
    ))
    for row in rows:
        row["flags"] = json.loads(row["flags"]) if row["flags"] else []
    return cast(list[WorkerHistoryRow], rows)
