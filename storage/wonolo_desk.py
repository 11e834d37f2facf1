"""The Wonolo desk's own rows: webhook deliveries, message rows and action claims."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypedDict, cast

from storage.db import Database, first_row, utcnow, write


class RequestMessageRow(TypedDict):
    """Where a job request's message is, and the digest of what it showed (`rendered`)."""

    job_request_id: str
    channel: str  # saved with every row (save_request_message)
    ts: str | None
    state: str | None
    updated_at: str | None
    rendered: str | None


class JobReplyRow(TypedDict):
    """A job's latest thread reply; `data` is the snapshot it shows, decoded ({} if unreadable)."""

    job_id: str
    job_request_id: str | None
    state: str | None
    updated_at: str | None
    channel: str | None
    reply_ts: str | None
    data: dict[str, Any]


class ActionRow(TypedDict):
    """One Wonolo action's claim: running -> done (deleted when the call failed)."""

    action: str
    target: str
    user_id: str | None
    state: str
    started_at: str
    finished_at: str | None

# --- webhook deliveries -----------------------------------------------------------


def record_delivery(db: Database, delivery_key: str, resource_type: str, resource_id: str, state: str | None) -> bool:
    """Remember a webhook delivery; False if it was seen before."""
    with write(db):
        cursor = db.execute(
            "INSERT INTO wonolo_deliveries (delivery_key, received_at, resource_type, resource_id, state)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_key) DO NOTHING",
            [delivery_key, utcnow(), resource_type, resource_id, state],
        )
        return cursor.rowcount == 1


def forget_delivery(db: Database, delivery_key: str) -> None:
    """A redelivery of this body will be processed again."""
    with write(db):
        db.execute("DELETE FROM wonolo_deliveries WHERE delivery_key = ?", [delivery_key])


# --- job request messages and job replies ----------------------------------------------


def request_message(db: Database, job_request_id: str) -> RequestMessageRow | None:
    """Where a job request's message is, and what it showed."""
    return cast(RequestMessageRow | None, first_row(db.execute("SELECT * FROM wonolo_requests WHERE job_request_id = ?", [job_request_id])))


def save_request_message(
    db: Database, job_request_id: str, channel: str, ts: str | None, state: str | None, rendered: str | None
) -> None:
    with write(db):
        db.execute(
            "INSERT INTO wonolo_requests (job_request_id, channel, ts, state, updated_at, rendered)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_request_id) DO UPDATE SET channel = excluded.channel,"
            " ts = excluded.ts, state = excluded.state, updated_at = excluded.updated_at,"
            " rendered = excluded.rendered",
            [job_request_id, channel, ts, state, utcnow(), rendered],
        )


def job_reply(db: Database, job_id: str) -> JobReplyRow | None:
    """A job's latest thread reply, its `data` (the snapshot shown) decoded ({} if unreadable)."""
    row = first_row(db.execute("SELECT * FROM wonolo_jobs WHERE job_id = ?", [job_id]))
    if row is not None:
        try:
            row["data"] = json.loads(row["data"]) if row.get("data") else {}
        except ValueError:
            row["data"] = {}
    return cast(JobReplyRow | None, row)


def save_job_reply(
    db: Database, job_id: str, job_request_id: str, state: str | None, channel: str, reply_ts: str, data: dict
) -> None:
    with write(db):
        db.execute(
            "INSERT INTO wonolo_jobs (job_id, job_request_id, state, updated_at, channel, reply_ts, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET"
            " job_request_id = excluded.job_request_id, state = excluded.state,"
            " updated_at = excluded.updated_at, channel = excluded.channel,"
            " reply_ts = excluded.reply_ts, data = excluded.data",
            [job_id, job_request_id, state, utcnow(), channel, reply_ts, json.dumps(data)],
        )


# --- action claims ---------------------------------------------------------------------


def action_done_by(db: Database, action: str, target: str) -> str | None:
    """Who completed this action on this target, if anyone did."""
    row = first_row(db.execute(
        "SELECT user_id FROM wonolo_actions WHERE action = ? AND target = ? AND state = 'done'", [action, target]))
    return row["user_id"] if row else None


def claim_action(
    db: Database, action: str, target: str, user_id: str, *, standing: Callable[[ActionRow], bool]
) -> ActionRow | None:
    """Take the claim for one action on one target unless `standing(row)` says the
    existing claim still holds; returns that standing claim, or None when taken."""
    now = utcnow()
    with write(db):
        row = cast(ActionRow | None, first_row(db.execute("SELECT * FROM wonolo_actions WHERE action = ? AND target = ?", [action, target])))
        if row is not None and standing(row):
            return row
        db.execute(
            "INSERT INTO wonolo_actions (action, target, user_id, state, started_at, finished_at)"
            " VALUES (?, ?, ?, 'running', ?, NULL) ON CONFLICT(action, target) DO UPDATE SET"
            " user_id = excluded.user_id, state = 'running', started_at = excluded.started_at, finished_at = NULL",
            [action, target, user_id, now],
        )
    return None


def finish_action(db: Database, action: str, target: str) -> None:
    """running -> done."""
    with write(db):
        db.execute("UPDATE wonolo_actions SET state = 'done', finished_at = ? WHERE action = ? AND target = ?",
                   [utcnow(), action, target])


def release_action(db: Database, action: str, target: str) -> None:
    """Drop a running claim (the action failed or was refused): it may be tried again."""
    with write(db):
        db.execute("DELETE FROM wonolo_actions WHERE action = ? AND target = ? AND state = 'running'",
                   [action, target])
