"""What the reports read: every spend gigdesk made, the audit trail paged and filtered, the names
behind its ids, the week's decisions, and the claim of the digest's weekly picture.

Spends come from gigdesk's own records, never from an API: a job's cost as RapidWorkers reported
it when it was created (`jobs_created`, commission included for custom campaigns), the pay of
each submission approved through gigdesk (`submissions`, a person's click, an approve-all or a
decision settled at start; one decided on the RapidWorkers website is not gigdesk's spend), and
each Wonolo booking that went through (`confirmations`, the estimated cost).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.audit import audit_entry_from_row
from storage.db import Database, all_rows, utcnow, write
from storage.rows import AuditEntry

WONOLO_BOOK_ACTION = "wonolo-book"  # confirmations.action of a Wonolo booking (bot.slack.ids.WONOLO_BOOK)
MAX_IN = 500  # ids bound in one IN (…) list


@dataclass(frozen=True)
class SpendRow:
    """One spend: `kind` job | approval | wonolo; `amount` as stored (decimal text)."""

    kind: str
    at: str
    user_id: str | None
    ref: str
    campaign_id: str | None
    campaign_title: str | None
    detail: str | None
    amount: str


_SPENDS = (
    "SELECT 'job' AS kind, j.created_at AS at, j.created_by AS user_id, j.job_id AS ref, j.job_id AS campaign_id,"
    " coalesce(c.title, j.title) AS campaign_title, j.kind AS detail, j.cost AS amount"
    " FROM jobs_created j LEFT JOIN campaigns c ON c.campaign_id = j.job_id"
    " WHERE j.created_at >= :start AND j.created_at < :end AND j.cost IS NOT NULL"
    " UNION ALL"
    " SELECT 'approval', s.decided_at, s.decided_by, CAST(s.submission_id AS TEXT), s.campaign_id,"
    " coalesce(json_extract(s.data, '$.campaign_title'), c.title), json_extract(s.data, '$.worker_name'),"
    " CAST(coalesce(s.amount_paid, json_extract(s.data, '$.pay')) AS TEXT)"
    " FROM submissions s LEFT JOIN campaigns c ON c.campaign_id = s.campaign_id"
    " WHERE s.state = 'approved' AND s.decided_by IS NOT NULL AND s.decided_at >= :start AND s.decided_at < :end"
    " AND coalesce(s.amount_paid, json_extract(s.data, '$.pay')) IS NOT NULL"
    " UNION ALL"
    " SELECT 'wonolo', o.finished_at, o.user_id, o.id, NULL, json_extract(o.params, '$.title'),"
    " json_extract(o.params, '$.city'), CAST(o.spent_cents AS TEXT)"
    " FROM confirmations o"
    " WHERE o.action = :wonolo AND o.state = 'done' AND o.spent_cents IS NOT NULL"
    " AND o.finished_at >= :start AND o.finished_at < :end"
    " ORDER BY at, kind, ref"
)


def spends(db: Database, start: str, end: str) -> list[SpendRow]:
    """Every spend in [start, end) (UTC ISO text), oldest first."""
    rows = all_rows(db.execute(_SPENDS, {"start": start, "end": end, "wonolo": WONOLO_BOOK_ACTION}))
    return [SpendRow(**{**row, "amount": _dollars(int(row["amount"]))} if row["kind"] == "wonolo" else row) for row in rows]


def _dollars(cents: int) -> str:
    """A booking's cents as the decimal text the other spends are stored in."""
    return f"{cents // 100}.{cents % 100:02d}"


# --- names behind ids ---------------------------------------------------------------------


def known_campaigns(db: Database) -> dict[str, str | None]:
    """campaign id -> title, from everything gigdesk has recorded (synced counts, jobs it created,
    submissions it posted); the synced title wins."""
    found: dict[str, str | None] = {}
    for campaign_id, title in db.execute(
        "SELECT campaign_id, max(json_extract(data, '$.campaign_title')) FROM submissions GROUP BY campaign_id"
    ):
        found[campaign_id] = title
    for campaign_id, title in db.execute("SELECT job_id, title FROM jobs_created"):
        found[campaign_id] = title or found.get(campaign_id)
    for campaign_id, title in db.execute("SELECT campaign_id, title FROM campaigns"):
        found[campaign_id] = title or found.get(campaign_id)
    return found


def _chunks(values: list) -> list[list]:
    return [values[n: n + MAX_IN] for n in range(0, len(values), MAX_IN)]


def submissions_named(db: Database, submission_ids: list[int]) -> dict[int, dict]:
    """submission id -> {campaign_id, campaign_title, worker_id, worker_name}."""
    found: dict[int, dict] = {}
    for chunk in _chunks(sorted(set(submission_ids))):
        marks = ",".join("?" * len(chunk))
        for row in all_rows(db.execute(
            "SELECT submission_id, campaign_id, worker_id, json_extract(data, '$.campaign_title') AS campaign_title,"
            f" json_extract(data, '$.worker_name') AS worker_name FROM submissions WHERE submission_id IN ({marks})", chunk
        )):
            found[int(row.pop("submission_id"))] = row
    return found


def offers_named(db: Database, id_prefixes: list[str]) -> dict[str, dict]:
    """The spend offers whose id starts with one of these 8-character prefixes (the audit keeps
    only the prefix): prefix -> {action, params}."""
    found: dict[str, dict] = {}
    for prefix in sorted(set(p for p in id_prefixes if p)):
        row = db.execute("SELECT action, params FROM confirmations WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 1",
                         [len(prefix), prefix]).fetchone()
        if row is not None:
            found[prefix] = {"action": row[0], "params": json.loads(row[1])}
    return found


def worker_names(db: Database, worker_ids: list[str]) -> dict[str, str]:
    """worker id -> the name gigdesk saw last (submissions, blocks)."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(worker_ids))):
        marks = ",".join("?" * len(chunk))
        for wid, name in db.execute(
            f"SELECT worker_id, json_extract(data, '$.worker_name') FROM submissions WHERE worker_id IN ({marks})"
            f" UNION ALL SELECT worker_id, worker_name FROM worker_blocks WHERE worker_id IN ({marks})", chunk + chunk
        ):
            if name:
                found[wid] = name
    return found


# --- the audit trail --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries: by who acted, about a worker, about some campaigns, since when (UTC ISO).
    At most one of user_id / worker_id / campaign_ids is set."""

    user_id: str | None = None
    worker_id: str | None = None
    campaign_ids: tuple[str, ...] | None = None
    since: str | None = None


def _where(f: AuditFilter) -> tuple[str, list]:
    clauses: list[str] = []
    params: list = []
    if f.user_id is not None:
        clauses.append("a.user_id = ?")
        params.append(f.user_id)
    if f.worker_id is not None:
        # A decision names its submission, /rw block the worker, a card's Block worker both.
        clauses.append("(a.target = ? OR a.detail = ? OR a.target IN"
                       " (SELECT CAST(submission_id AS TEXT) FROM submissions WHERE worker_id = ?))")
        params += [f.worker_id, f"worker {f.worker_id}", f.worker_id]
    if f.campaign_ids is not None:
        ids = list(f.campaign_ids) or [""]
        marks = ",".join("?" * len(ids))
        clauses.append(f"(a.target IN ({marks}) OR a.target IN"
                       f" (SELECT CAST(submission_id AS TEXT) FROM submissions WHERE campaign_id IN ({marks})))")
        params += ids + ids
    if f.since is not None:
        clauses.append("a.at >= ?")
        params.append(f.since)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def audit_count(db: Database, f: AuditFilter) -> int:
    where, params = _where(f)
    return int(db.execute(f"SELECT count(*) FROM audit a{where}", params).fetchone()[0])


def audit_page(db: Database, f: AuditFilter, *, limit: int, offset: int = 0) -> list[AuditEntry]:
    """The filtered audit entries, newest first."""
    where, params = _where(f)
    rows = all_rows(db.execute(f"SELECT a.* FROM audit a{where} ORDER BY a.id DESC LIMIT ? OFFSET ?",
                            params + [int(limit), int(offset)]))
    return [audit_entry_from_row(r) for r in rows]


def audit_users(db: Database) -> list[str]:
    """Every user id the audit names (to find `@name`)."""
    return [r[0] for r in db.execute("SELECT DISTINCT user_id FROM audit WHERE user_id IS NOT NULL")]


# --- the week in decisions ---------------------------------------------------------------------


def decisions_between(db: Database, start: str, end: str) -> list[tuple[str, str]]:
    """(decided_at, outcome) of every decision in [start, end)."""
    return [(r[0], r[1]) for r in db.execute(
        "SELECT decided_at, outcome FROM submissions WHERE decided_at >= ? AND decided_at < ? AND outcome IS NOT NULL",
        [start, end])]


def flagged_between(db: Database, start: str, end: str) -> list[str]:
    """When each submission flagged by the proof checks in [start, end) was checked."""
    return [r[0] for r in db.execute(
        "SELECT checked_at FROM proof_checks WHERE suspicious = 1 AND checked_at >= ? AND checked_at < ?", [start, end])]


# --- the weekly picture: once per week --------------------------------------------------------


def claim_weekly_picture(db: Database, week: str, channel: str) -> bool:
    """Claim the picture of `week` (its Monday, ISO) before posting it; False when claimed before
    (by this or another process, before or since a restart)."""
    with write(db):
        cursor = db.execute("INSERT INTO weekly_pictures (week, channel, claimed_at) VALUES (?, ?, ?) ON CONFLICT (week) DO NOTHING",
                            [week, channel, utcnow()])
        return cursor.rowcount == 1


def record_weekly_picture(db: Database, week: str, file_id: str | None) -> None:
    with write(db):
        db.execute("UPDATE weekly_pictures SET file_id = ?, posted_at = ? WHERE week = ?", [file_id, utcnow(), week])


def release_weekly_picture(db: Database, week: str) -> None:
    """The picture certainly was not posted: the next digest may try again."""
    with write(db):
        db.execute("DELETE FROM weekly_pictures WHERE week = ? AND posted_at IS NULL", [week])
