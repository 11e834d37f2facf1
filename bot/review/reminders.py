"""Reminders: one nudge per channel for submissions waiting longer than GIGDESK_REMIND_AFTER_HOURS.

Run as its own scheduled job (bot.app.Background), never by the review sync:
a sync posts review messages and nothing else (DESIGN.md). Each submission is
reminded of at most once: its reminder row is claimed before the nudge is posted.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import cast

from slack_sdk.errors import SlackApiError

from bot.review.render import REMINDER_LISTED, reminder_message, reminder_metadata
from bot.services import Services
from bot.slack.errors import NOT_POSTED
from storage import routes as route_store
from storage.rows import SubmissionRow

log = logging.getLogger("gigdesk.review")

REMIND_CHECK_MINUTES = 10


def waiting_since(row: SubmissionRow) -> datetime | None:
    """When the worker submitted (else when the bot first saw it): what "waiting since" means."""
    for value in (row.data.get("submitted_at"), row.claimed_at):
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def remind_waiting(services: Services, *, now: datetime | None = None) -> int:
    """Post the due reminders; returns how many submissions were reminded of."""
    hours = services.settings.remind_after_hours
    if not hours:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=hours)
    due: dict[str, list[SubmissionRow]] = {}
    for row in route_store.unreminded_waiting(services.store.db):
        submitted = waiting_since(row)
        if submitted is not None and submitted <= cutoff:
            due.setdefault(cast(str, row.channel), []).append(row)  # posted: it has a channel
    reminded = 0
    for channel, rows in due.items():
        taken = set(route_store.claim_reminders(services.store.db, [r.submission_id for r in rows], channel))
        rows = [r for r in rows if r.submission_id in taken]
        if rows:
            reminded += _post(services, channel, rows, hours)
    return reminded


def _post(services: Services, channel: str, rows: list[SubmissionRow], hours: int) -> int:
    """One nudge in a channel; the submissions' reminder claims are released when it certainly failed."""
    links: dict[int, str | None] = {}
    by_message: dict[str | None, str | None] = {}  # a batch message's rows share one link
    for row in rows[:REMINDER_LISTED]:
        if row.ts and row.ts not in by_message:
            try:
                by_message[row.ts] = services.slack.chat_getPermalink(channel=channel, message_ts=row.ts).get("permalink")
            except SlackApiError as e:
                log.warning("no permalink for a review message in %s: %s", channel, e.response.get("error"))
                by_message[row.ts] = None
        links[row.submission_id] = by_message.get(row.ts)
    text, blocks = reminder_message(rows, links, hours=hours,
                                    group=services.settings.reviewer_group)
    try:
        services.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=reminder_metadata(rows),
                                        unfurl_links=False, unfurl_media=False)
    except SlackApiError as e:
        if e.response.get("error") in NOT_POSTED:  # certainly not posted: the next run tries again
            route_store.release_reminders(services.store.db, [r.submission_id for r in rows])
        log.warning("could not post a reminder in %s: %s", channel, e.response.get("error"))
        return 0
    return len(rows)
