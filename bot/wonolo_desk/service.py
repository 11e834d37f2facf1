"""Wonolo in Slack: webhooks become channel messages; buttons and /wonolo act on Wonolo.

Webhooks
    receive() answers at once: it checks the token, parses the body, records
    the delivery key (a delivery seen before is answered 200 "duplicate" and
    changes nothing), hands the work (fetch from Wonolo, post or update in
    Slack) to a 4-thread executor and answers 200. However slow Wonolo or
    Slack are, the answer takes milliseconds.

    Since Wonolo has its 2xx before the work is done, its own retries (of
    non-2xx answers) never start; a failed processing is retried here: up to
    3 more times after RETRY_DELAYS (2, 10, 30 s), on timer threads so that no
    executor thread sleeps. Errors that cannot heal (Wonolo 401/403/404/422,
    a missing Slack channel or scope) are not retried. After the last failure
    the error is logged (never a secret) and the delivery row is deleted, so
    a redelivery of the same body is processed instead of being taken for a
    duplicate.

Messages
    One message per job request in WONOLO_CHANNEL (wonolo_requests keeps its
    channel and ts), updated in place with chat.update, and only when what it
    shows changed (a digest of text and blocks is kept). Each job's state
    changes are replies in that thread; a reply is posted only when the job's
    state differs from the last one recorded in wonolo_jobs, and only the
    latest reply of a job keeps its buttons.

    Work on a job request runs under a per-job-request lock (a job's under a
    per-job lock taken first), and resources are fetched inside the locks:
    concurrent or out-of-order deliveries post one message, and the last
    render shows the current state. A job request row with no ts is a claim
    whose post may or may not have reached Slack (crash, timeout): the next
    attempt looks for the message by its metadata before posting again.

Actions
    Resend notifications, Re-rank workers, Cancel request, Cancel job and
    Message worker are for allowed users only, and every click is audited.
    A claim row in wonolo_actions (taken in a BEGIN IMMEDIATE transaction)
    makes a double click, or two people clicking at once, reach Wonolo once:
    a second click is refused while the first is under way, for a minute
    after a resend/re-rank, and for good after a cancel or a sent message. A
    failed call releases the claim, so a new click tries again. Which actions
    a message offers follows the request's state (bot.blocks.wonolo
    can_recruit / can_cancel_request), and a click is checked against the
    same rules. Assign worker (a modal) and `/wonolo invite` are claimed the
    same way: one assignment per request and worker, one invitation per
    e-mail a day.

Unfilled-shift alerts
    Once per job request (a wonolo_alerts row, claimed before posting), when
    it starts within WONOLO_UNFILLED_ALERT_HOURS and has open slots, a message
    in WONOLO_CHANNEL with Resend / Re-rank buttons. Checked after each
    webhook and by a periodic pass (Background, every UNFILLED_CHECK_MINUTES).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.permissions import require_allowed
from bot.slack import errors as slack_errors
from bot.slack import ids
from bot.slack.mrkdwn import escape, mention, money
from bot.slack.replies import Reply
from bot.spending.offers import CONFIRM_MINUTES, SpendOffers
from bot.spending.rules import SECOND_APPROVAL_HOURS, SpendingRules
from bot.text import suggest
from bot.wonolo.client import (
    JOB_REQUEST_STATES,
    JOB_STATES,
    WonoloError,
    WonoloForbidden,
    WonoloInvalid,
    WonoloNetworkError,
    WonoloNotFound,
    WonoloUnauthorized,
    estimated_cost,
)
from bot.wonolo.webhook import WebhookEvent, parse_event, verify
from bot.wonolo_desk import blocks as ui
from bot.wonolo_desk import booking
from storage import records
from storage import wonolo as alerts_store
from storage import wonolo_desk as desk_rows
from storage.db import utcnow
from storage.rows import Offer

log = logging.getLogger("gigdesk.wonolo.desk")

WORKERS = 4
RETRY_DELAYS = (2.0, 10.0, 30.0)
COOLDOWN_SECONDS = 60.0      # a resend / re-rank is not repeated within this
STALE_CLAIM_SECONDS = 120.0  # a "running" claim older than this was cut short by a crash
LIST_PAGES = 4               # scans (alerts, digest, home) read at most this many pages of PER per state
PER = 50
MAX_PAGE = 400               # a pager button never asks Wonolo for a page past this
INVITE_COOLDOWN_SECONDS = 86400.0  # one invitation per e-mail address a day
UNFILLED_CHECK_MINUTES = 5   # the periodic unfilled-shift pass
SUMMARY_CACHE_SECONDS = 20.0  # App Home opens share one Wonolo scan
UPCOMING_STATES = ("unassigned", "posted", "filled")
WORKED_STATES = ("filled", "in_progress", "completed", "approved")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")

PERMANENT_SLACK_ERRORS = slack_errors.PERMANENT  # another attempt cannot fix these

WONOLO_ACTIONS = "act on Wonolo job requests"  # "You are not allowed to …" (bot.permissions)


@dataclass(frozen=True)
class Outcome:
    """What to tell the person who clicked (None: nothing to add)."""

    message: str | None = None


def _digest(text: str, blocks: list) -> str:
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()


def _age(iso: str | None) -> float:
    if not iso:
        return float("inf")
    try:
        return (datetime.fromisoformat(utcnow()) - datetime.fromisoformat(iso)).total_seconds()
    except ValueError:
        return float("inf")


def _utc(moment: datetime) -> datetime:
    """Wonolo times without a zone are read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _permanent(error: BaseException) -> bool:
    if isinstance(error, (WonoloNotFound, WonoloForbidden, WonoloUnauthorized, WonoloInvalid)):
        return True
    if isinstance(error, SlackApiError):
        return error.response.get("error") in PERMANENT_SLACK_ERRORS
    return False


def _describe(error: BaseException) -> str:
    """For logs: short and free of secrets (Wonolo errors are written to be)."""
    if isinstance(error, SlackApiError):
        return f"Slack said {error.response.get('error')}"
    if isinstance(error, WonoloError):
        return f"Wonolo: {error}"
    return type(error).__name__


def _email(value: str) -> str | None:
    """A plain e-mail address from what was typed (Slack may have linked it), else None."""
    value = value.strip()
    if value.startswith("<mailto:") and value.endswith(">"):
        value = value[len("<mailto:"):-1].split("|", 1)[0]
    if len(value) > 254 or not _EMAIL_RE.match(value):
        return None
    return value


def _shown(text: str, limit: int = 40) -> str:
    """Untrusted command input, cut and escaped for an answer."""
    text = " ".join(str(text).split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _certainly_not_booked(error: WonoloError) -> bool:
    """Wonolo said no (or we never sent it): Confirm may be clicked again. A 5xx, a timeout or an
    answer we cannot read may hide a created request, so those are never retried."""
    if isinstance(error, (WonoloInvalid, WonoloForbidden, WonoloUnauthorized, WonoloNotFound)):
        return True
    return error.status == 429


class WonoloDesk:
    """Webhook intake, the job request messages, their buttons and /wonolo."""

    def __init__(self, services, *, workers: int = WORKERS):
        self.s = services
        self.settings = services.settings
        self.client = services.wonolo
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wonolo")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._summary_lock = threading.Lock()
        self._summary_cache: tuple[float, ui.WonoloSummary] | None = None
        self.spending = SpendingRules(services)
        self.offers = SpendOffers(services, self.spending, actions={ids.WONOLO_BOOK: ids.WONOLO_BOOK},
                                  check_hint="`/wonolo requests`")

    @property
    def db(self):
        return self.s.store.db

    @property
    def slack(self):
        return self.s.slack

    def close(self) -> None:
        """Stop taking work (queued deliveries are dropped; their rows are kept)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    # ------------------------------------------------------------------ webhooks

    def receive(self, raw_body: bytes, token_header: str | None) -> tuple[str, dict]:
        """POST /wonolo/webhook: (status line, JSON payload), answered at once."""
        if not verify(raw_body, token_header, self.settings.wonolo_secret_key or ""):
            log.warning("Wonolo webhook refused: %s token", "missing" if not token_header else "wrong")
            return "401 Unauthorized", {"error": "invalid token"}
        try:
            event = parse_event(raw_body)
        except ValueError as e:
            log.warning("Wonolo webhook refused: %s", e)
            return "400 Bad Request", {"error": str(e)}
        if not self._record_delivery(event):
            log.info("Wonolo webhook for %s %s seen before; ignored", event.resource_type, event.resource_id)
            return "200 OK", {"ok": True, "duplicate": True}
        try:
            self._executor.submit(self._process, event, 0)
        except RuntimeError:  # shutting down: let Wonolo retry later
            self._forget_delivery(event.delivery_key)
            return "503 Service Unavailable", {"error": "shutting down"}
        return "200 OK", {"ok": True}

    def _record_delivery(self, event: WebhookEvent) -> bool:
        return desk_rows.record_delivery(
            self.db, event.delivery_key, event.resource_type, event.resource_id, event.state)

    def _forget_delivery(self, delivery_key: str) -> None:
        desk_rows.forget_delivery(self.db, delivery_key)

    def _process(self, event: WebhookEvent, attempt: int) -> None:
        try:
            if event.resource_type == "job_request":
                self.sync_request(event.resource_id)
            else:
                self.sync_job(event.resource_id)
        except Exception as e:
            what = f"{event.resource_type} {event.resource_id}"
            if not isinstance(e, (WonoloError, SlackApiError)):
                log.error("Wonolo webhook for %s failed (attempt %d)", what, attempt + 1, exc_info=True)
            if attempt < len(self.retry_delays) and not _permanent(e):
                delay = self.retry_delays[attempt]
                log.warning("Wonolo webhook for %s failed (%s); retrying in %gs", what, _describe(e), delay)
                timer = threading.Timer(delay, self._resubmit, args=(event, attempt + 1))
                timer.daemon = True
                timer.start()
                return
            log.error("Wonolo webhook for %s failed (%s); gave up after %d attempts",
                      what, _describe(e), attempt + 1)
            try:
                self._forget_delivery(event.delivery_key)
            except Exception:
                log.exception("could not forget a failed Wonolo delivery")

    def _resubmit(self, event: WebhookEvent, attempt: int) -> None:
        try:
            self._executor.submit(self._process, event, attempt)
        except RuntimeError:
            log.warning("Wonolo webhook for %s %s dropped at shutdown", event.resource_type, event.resource_id)

    # ------------------------------------------------------------------ messages

    def sync_request(self, job_request_id: str) -> tuple[str, str]:
        """Fetch a job request and its jobs; post or update its message."""
        key = str(job_request_id)
        with self._lock(f"jr:{key}"):
            jr = self.client.get_job_request(key)
            jobs = self.client.list_jobs(job_request_id=key)
            shown = self._show_request(jr, jobs)
            self._alert_if_unfilled(jr, jobs)
            return shown

    def sync_job(self, job_id: str) -> bool:
        """Fetch a job; make sure its job request's message exists and is current;
        reply in its thread if the job's state changed. True if a reply was posted."""
        with self._lock(f"job:{job_id}"):
            job = self.client.get_job(job_id)
            if job.job_request_id is None:
                log.warning("Wonolo job %s names no job request; nothing to show", job_id)
                return False
            jr_key = str(job.job_request_id)
            with self._lock(f"jr:{jr_key}"):
                jr = self.client.get_job_request(jr_key)
                jobs = self.client.list_jobs(job_request_id=jr_key)
                channel, ts = self._show_request(jr, jobs)
                self._alert_if_unfilled(jr, jobs)
                return self._show_job(job, jr, channel, ts)

    def _request_row(self, key: str) -> dict | None:
        return desk_rows.request_message(self.db, key)

    def _save_request(self, key: str, channel: str, ts: str | None, state: str | None, rendered: str | None) -> None:
        desk_rows.save_request_message(self.db, key, channel, ts, state, rendered)

    def _show_request(self, jr, jobs) -> tuple[str, str]:
        """Post the job request's message once, else update it if it changed. Lock held."""
        key = str(jr.id)
        cancelled_by = self._done_by(ids.WONOLO_CANCEL_REQUEST, key)
        text, blocks = ui.request_message(jr, jobs, cancelled_by=cancelled_by)
        # Compared without "starts in …": the clock alone never re-sends the message.
        rendered = _digest(*ui.request_message(jr, jobs, cancelled_by=cancelled_by, relative=False))
        row = self._request_row(key)
        if row is not None and row["ts"]:
            if row["rendered"] == rendered:
                return row["channel"], row["ts"]
            if self._update(row["channel"], row["ts"], text, blocks):
                self._save_request(key, row["channel"], row["ts"], jr.state, rendered)
                return row["channel"], row["ts"]
            log.warning("the message of Wonolo job request %s was deleted; posting it again", key)
            row = None
        channel = (row or {}).get("channel") or self.settings.wonolo_channel
        ts = None
        if row is not None:  # claimed earlier, but the post was never recorded
            ts = self._find_posted(channel, key)
            if ts is not None and not self._update(channel, ts, text, blocks):
                ts = None
        else:
            self._save_request(key, channel, None, jr.state, None)  # the claim
        if ts is None:
            response = self.slack.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata=ui.request_metadata(key),
                unfurl_links=False, unfurl_media=False,
            )
            channel, ts = response["channel"], response["ts"]
        self._save_request(key, channel, ts, jr.state, rendered)
        return channel, ts

    def _update(self, channel: str, ts: str, text: str, blocks: list) -> bool:
        """chat.update; False when the message is gone."""
        try:
            self.slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as e:
            if e.response.get("error") == slack_errors.MESSAGE_NOT_FOUND:
                return False
            raise
        return True

    def _find_posted(self, channel: str, key: str) -> str | None:
        """The ts of our message for this job request, looked up by its metadata."""
        pages = 0
        for page in self.slack.conversations_history(channel=channel, include_all_metadata=True, limit=200):
            for message in page.get("messages", []):
                meta = message.get("metadata") or {}
                if (meta.get("event_type") == ids.WONOLO_REQUEST_EVENT
                        and str((meta.get("event_payload") or {}).get("job_request_id")) == key):
                    return message["ts"]
            pages += 1
            if pages >= 3:
                break
        return None

    def _job_row(self, key: str) -> dict | None:
        return desk_rows.job_reply(self.db, key)

    def _show_job(self, job, jr, channel: str, root_ts: str) -> bool:
        """Reply in the thread when the job's state changed since the last reply. Lock held."""
        key = str(job.id)
        row = self._job_row(key)
        if row is not None and row["state"] == job.state:
            return False
        snap = ui.job_snapshot(job)
        snap["request_name"] = jr.request_name
        text, blocks = ui.job_reply(snap, tz_name=jr.timezone)
        response = self.slack.chat_postMessage(channel=channel, thread_ts=root_ts, text=text, blocks=blocks,
                                               unfurl_links=False, unfurl_media=False)
        desk_rows.save_job_reply(self.db, key, str(jr.id), job.state, response["channel"], response["ts"], snap)
        # Only the latest reply of a job keeps buttons.
        old = (row or {}).get("data") or {}
        if row is not None and row.get("reply_ts") and ui.job_buttons(old) is not None:
            old_text, old_blocks = ui.job_reply(old, tz_name=jr.timezone, with_buttons=False)
            try:
                self._update(row["channel"], row["reply_ts"], old_text, old_blocks)
            except SlackApiError as e:
                log.warning("could not take the buttons off an old reply of job %s: %s", key, e.response.get("error"))
        return True

    def _refresh_quietly(self, refresh: Callable[[], Any], what: str) -> None:
        try:
            refresh()
        except (WonoloError, SlackApiError) as e:
            log.warning("could not refresh %s: %s", what, _describe(e))
        except Exception:
            log.exception("could not refresh %s", what)

    # ------------------------------------------------------------------ unfilled-shift alerts

    def _alert_due(self, jr, unfilled: int, now: datetime) -> bool:
        """Starts within WONOLO_UNFILLED_ALERT_HOURS, not yet started, still recruiting, open slots."""
        hours = self.settings.wonolo_unfilled_alert_hours
        if not hours or unfilled <= 0 or not ui.can_recruit(jr.state) or jr.start_time is None:
            return False
        return now <= _utc(jr.start_time) <= now + timedelta(hours=hours)

    def _alert_if_unfilled(self, jr, jobs) -> None:
        """Raise the request's one alert when it is due; keep a raised one current. Lock held; never raises."""
        try:
            self._alert(jr, jobs)
        except Exception as e:
            log.warning("unfilled-shift alert for job request %s failed: %s", jr.id, _describe(e))

    def _alert(self, jr, jobs) -> None:
        key = str(jr.id)
        unfilled = ui.unfilled_slots(jr, jobs) or 0
        existing = alerts_store.alert(self.db, key)
        if existing is not None:
            # Raised before: only rebuilt when what it offers changes (filled, cancelled, …).
            rendered = f"{jr.state}:{unfilled}"
            if existing.get("ts") and existing.get("rendered") != rendered:
                text, blocks = ui.unfilled_alert(jr, unfilled)
                if self._update(existing["channel"], existing["ts"], text, blocks):
                    alerts_store.record_alert(self.db, key, existing["channel"], existing["ts"], rendered)
            return
        if not self._alert_due(jr, unfilled, datetime.now(UTC)):
            return
        channel = self.settings.wonolo_channel
        start = jr.start_time.isoformat() if jr.start_time else None
        if not alerts_store.claim_alert(self.db, key, start, unfilled, channel):
            return  # another check raised it just now
        text, blocks = ui.unfilled_alert(jr, unfilled)
        try:
            response = self.slack.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                   unfurl_links=False, unfurl_media=False)
        except BaseException:
            alerts_store.release_alert(self.db, key)  # the next check tries again
            raise
        alerts_store.record_alert(self.db, key, response["channel"], response["ts"], f"{jr.state}:{unfilled}")
        self._audit(None, ids.WONOLO_UNFILLED_ALERT, key, "raised", f"{unfilled} open slots")
        log.info("unfilled-shift alert raised for Wonolo job request %s (%d open slots)", key, unfilled)

    def _scan(self, state: str) -> list:
        """Job requests in one state, at most LIST_PAGES pages."""
        items: list = []
        previous = None
        for page in range(1, LIST_PAGES + 1):
            batch = self.client.list_job_requests(state, page=page, per=PER)
            batch_ids = [jr.id for jr in batch]
            if batch and batch_ids == previous:  # the server ignores `page`
                break
            items.extend(batch)
            previous = batch_ids
            if len(batch) < PER:
                break
        return items

    def check_unfilled(self) -> int:
        """The periodic pass: raise the alert of every request that is due. How many were raised."""
        if not self.settings.wonolo_unfilled_alert_hours:
            return 0
        now = datetime.now(UTC)
        due = {str(jr.id): jr for state in sorted(ui.RECRUITING_STATES) for jr in self._scan(state)
               if self._alert_due(jr, ui.unfilled_slots(jr, None) or 0, now)}
        raised = 0
        for key in sorted(set(due) - alerts_store.alerted(self.db, list(due))):
            try:
                self.sync_request(key)  # the card first (buttons there too), then the alert
            except Exception as e:
                log.warning("unfilled-shift check of job request %s failed: %s", key, _describe(e))
                continue
            row = alerts_store.alert(self.db, key)
            raised += bool(row and row.get("ts"))
        return raised

    # ------------------------------------------------------------------ digest and App Home

    def summary(self, now: datetime, *, fresh: bool = True) -> ui.WonoloSummary:
        """Tomorrow's shifts (in `now`'s zone), upcoming shifts, fill rate, alerts raised, spend.

        Never raises for Wonolo trouble: it becomes `error`. With fresh=False
        (App Home) a scan younger than SUMMARY_CACHE_SECONDS is reused.
        """
        with self._summary_lock:
            cached = self._summary_cache
            if not fresh and cached is not None and time.monotonic() - cached[0] < SUMMARY_CACHE_SECONDS:
                return cached[1]
            result = self._summarise(now)
            self._summary_cache = (time.monotonic(), result)
            return result

    def _summarise(self, now: datetime) -> ui.WonoloSummary:
        since = now - timedelta(hours=24)
        alerts_raised = alerts_store.alerts_raised_since(self.db, since.astimezone(UTC).isoformat())
        try:
            found = {}
            for state in dict.fromkeys(UPCOMING_STATES + WORKED_STATES):
                for jr in self._scan(state):
                    found[str(jr.id)] = jr
        except WonoloError as e:
            return ui.WonoloSummary(alerts_raised=alerts_raised, error=str(e))
        dated = sorted((jr for jr in found.values() if jr.start_time is not None), key=lambda jr: _utc(jr.start_time))
        tomorrow = (now + timedelta(days=1)).date()
        upcoming = [jr for jr in dated if jr.state in UPCOMING_STATES and _utc(jr.start_time) >= now]
        tomorrows = [jr for jr in upcoming if _utc(jr.start_time).astimezone(now.tzinfo).date() == tomorrow]
        worked = [jr for jr in dated if jr.state in WORKED_STATES and since <= _utc(jr.start_time) < now]
        spend = sum((estimated_cost(jr.slots_filled or 0, jr.duration, jr.wage) or Decimal("0") for jr in worked),
                    Decimal("0"))
        return ui.WonoloSummary(
            tomorrow=tomorrows, upcoming=upcoming,
            slots=sum(jr.slots or 0 for jr in tomorrows),
            filled=sum(min(jr.slots_filled or 0, jr.slots or 0) for jr in tomorrows),
            alerts_raised=alerts_raised, spend=spend, spend_shifts=len(worked),
        )

    # ------------------------------------------------------------------ action claims

    def _done_by(self, action: str, target: str) -> str | None:
        return desk_rows.action_done_by(self.db, action, target)

    def _claim(self, action: str, target: str, user_id: str, *, cooldown: float | None) -> dict | None:
        """Take the claim for one action on one target; the standing claim if refused."""
        def standing(row: dict) -> bool:
            busy = row["state"] == "running" and _age(row["started_at"]) < STALE_CLAIM_SECONDS
            recent = row["state"] == "done" and (cooldown is None or _age(row["finished_at"]) < cooldown)
            return busy or recent

        return desk_rows.claim_action(self.db, action, target, user_id, standing=standing)

    def _finish(self, action: str, target: str) -> None:
        desk_rows.finish_action(self.db, action, target)

    def _release(self, action: str, target: str) -> None:
        desk_rows.release_action(self.db, action, target)

    def _audit(self, user_id: str | None, action: str, target: str, outcome: str, detail: str | None = None) -> None:
        records.audit(self.db, user_id, action, target, outcome, detail)

    def _refuse(self, user_id: str, action: str, target: str, message: str) -> UserError:
        self._audit(user_id, action, target, "refused", message)
        return UserError(message)

    def _act(self, action: str, target: str, user_id: str, call: Callable[[], Any], *,
             cooldown: float | None, busy: str, done: Callable[[dict], str]) -> Any:
        """Claim, call Wonolo once, record; a failure releases the claim and is audited."""
        standing = self._claim(action, target, user_id, cooldown=cooldown)
        if standing is not None:
            message = busy.format(who=mention(standing["user_id"])) if standing["state"] == "running" else done(standing)
            raise self._refuse(user_id, action, target, message)
        try:
            result = call()
        except WonoloError as e:
            self._release(action, target)
            self._audit(user_id, action, target, "failed", str(e))
            raise UserError(self._explain(e)) from None
        except UserError as e:
            self._release(action, target)
            self._audit(user_id, action, target, "failed", str(e))
            raise
        except Exception:
            self._release(action, target)
            self._audit(user_id, action, target, "error", "unexpected error")
            raise
        self._finish(action, target)
        return result

    @staticmethod
    def _explain(error: WonoloError) -> str:
        """A failed action, for the person who clicked (Wonolo's text escaped)."""
        text = escape(str(error))
        if isinstance(error, (WonoloForbidden, WonoloNetworkError)):
            return text  # says why (Public Pool keys) / that it may have gone through
        return f"{text} You can try again."

    # ------------------------------------------------------------------ job request buttons

    def _known_request(self, value: object, message: tuple[str, str] | None) -> dict:
        """The job request a button names: exactly the value the bot wrote and, with
        `message` (channel, ts of the clicked message), the one that message shows."""
        key = value if isinstance(value, str) else ""
        row = self._request_row(key) if _ID_RE.match(key) else None
        shown_on = set()
        if row is not None and row.get("ts"):
            shown_on.add((row["channel"], row["ts"]))
            alert = alerts_store.alert(self.db, key)
            if alert is not None and alert.get("ts"):
                shown_on.add((alert["channel"], alert["ts"]))
        if row is None or not shown_on or (message is not None and tuple(message) not in shown_on):
            raise UserError("That button does not belong to a Wonolo job request I know.")
        return row

    def resend_notifications(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        return self._request_action(value, user_id, ids.WONOLO_RESEND, message)

    def rerank_workers(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        return self._request_action(value, user_id, ids.WONOLO_RERANK, message)

    def _request_action(self, value: object, user_id: str, action: str, message: tuple[str, str] | None) -> Outcome:
        row = self._known_request(value, message)
        key = row["job_request_id"]
        require_allowed(self.s, user_id, action, key, WONOLO_ACTIONS)
        if not ui.can_recruit(row["state"]):
            raise self._refuse(user_id, action, key, f"Job request `{key}` is {ui.state_label(row['state']).lower()}; "
                               "only a request still looking for workers can be resent or re-ranked.")
        if action == ids.WONOLO_RESEND:
            call, noun, did = self.client.resend_notifications, "Resending notifications", "resent notifications for"
        else:
            call, noun, did = self.client.re_rank_workers, "Re-ranking workers", "re-ranked the workers of"
        self._act(
            action, key, user_id, lambda: call(key), cooldown=COOLDOWN_SECONDS,
            busy=f"{noun} for job request `{key}` is already under way (started by {{who}}).",
            done=lambda r: (f"{mention(r['user_id'])} {did} job request `{key}` "
                            f"{int(_age(r['finished_at']))} s ago; try again in a minute."),
        )
        self._audit(user_id, action, key, "done")
        self._refresh_quietly(lambda: self.sync_request(key), f"job request {key}")
        if action == ids.WONOLO_RESEND:
            return Outcome(f"Wonolo is notifying workers about job request `{key}` again.")
        return Outcome(f"Wonolo re-ranked the workers for job request `{key}`.")

    def cancel_request(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        action = ids.WONOLO_CANCEL_REQUEST
        row = self._known_request(value, message)
        key = row["job_request_id"]
        require_allowed(self.s, user_id, action, key, WONOLO_ACTIONS)
        if row["state"] == "cancelled":
            raise self._refuse(user_id, action, key, f"Job request `{key}` is already cancelled.")
        if not ui.can_cancel_request(row["state"]):
            raise self._refuse(user_id, action, key, f"Job request `{key}` is {ui.state_label(row['state']).lower()}; "
                               "it can no longer be cancelled.")
        self._act(
            action, key, user_id, lambda: self.client.update_job_request(key, state="cancelled"), cooldown=None,
            busy=f"Job request `{key}` is already being cancelled by {{who}}.",
            done=lambda r: f"Job request `{key}` was already cancelled by {mention(r['user_id'])}.",
        )
        self._audit(user_id, action, key, "cancelled")
        self._refresh_quietly(lambda: self.sync_request(key), f"job request {key}")
        return Outcome(f"Job request `{key}` is cancelled on Wonolo.")

    # ------------------------------------------------------------------ assign a favourite worker

    def _assignable(self, row: dict, user_id: str) -> str:
        key = row["job_request_id"]
        require_allowed(self.s, user_id, ids.WONOLO_ASSIGN, key, WONOLO_ACTIONS)
        if not ui.can_recruit(row["state"]):
            raise self._refuse(user_id, ids.WONOLO_ASSIGN, key,
                               f"Job request `{key}` is {ui.state_label(row['state']).lower()}; "
                               "workers can only be assigned while it is looking for them.")
        return key

    def assign_view(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> dict:
        """The Assign worker modal, for an allowed user and a request still looking for workers."""
        row = self._known_request(value, message)
        key = self._assignable(row, user_id)
        return ui.assign_modal(key, None, None)

    def _find_worker(self, typed: str):
        """The Wonolo worker a typed id or e-mail names."""
        email = _email(typed)
        if email is not None:
            found = [u for u in self.client.list_users(type="Worker", email=email)
                     if (u.email or "").lower() == email.lower()]
            if not found:
                raise UserError(f"No Wonolo worker with e-mail `{_shown(email)}`.")
            return found[0]
        value = typed.strip()
        if not _ID_RE.match(value):
            raise UserError(f"`{_shown(value)}` is neither a worker id nor an e-mail address.")
        try:
            user = self.client.get_user(value)
        except WonoloNotFound:
            raise UserError(f"No Wonolo worker with id `{escape(value)}`.") from None
        if (user.type or "Worker") != "Worker":
            raise UserError(f"User `{escape(value)}` is not a worker.")
        return user

    def assign_worker(self, job_request_id: object, user_id: str, typed: str, notes: str = "") -> Outcome:
        """POST /jobs/assign once per request and worker, however often it is submitted."""
        action = ids.WONOLO_ASSIGN
        row = self._known_request(job_request_id, None)
        key = self._assignable(row, user_id)
        typed, notes = (typed or "").strip(), (notes or "").strip()[:500]
        if not typed:
            raise UserError("Give the worker's id or e-mail.")
        try:
            worker = self._find_worker(typed)
        except (UserError, WonoloError) as e:
            self._audit(user_id, action, key, "refused", str(e))
            if isinstance(e, WonoloError):
                raise UserError(self._explain(e)) from None
            raise
        wid = str(worker.id)
        job = self._act(
            action, f"{key}:{wid}", user_id,
            lambda: self.client.assign_job(wid, key, requestor_notes=notes or None), cooldown=None,
            busy=f"*{escape(worker.full_name)}* is already being assigned to job request `{key}` by {{who}}.",
            done=lambda r: f"*{escape(worker.full_name)}* was already assigned to job request `{key}` by {mention(r['user_id'])}.",
        )
        self._audit(user_id, action, key, "assigned", f"worker {wid} (job {job.id})")
        if job.id is not None:
            self._refresh_quietly(lambda: self.sync_job(str(job.id)), f"job {job.id}")
        else:
            self._refresh_quietly(lambda: self.sync_request(key), f"job request {key}")
        return Outcome(f"*{escape(worker.full_name)}* is assigned to job request `{key}` on Wonolo.")

    # ------------------------------------------------------------------ job buttons and modals

    def _known_job(self, value: object, message: tuple[str, str] | None = None) -> dict:
        """The job a button (or modal) names; with `message`, the clicked message
        must be the job's latest reply (the only one with buttons)."""
        key = value if isinstance(value, str) else ""
        row = self._job_row(key) if _ID_RE.match(key) else None
        if row is None or (message is not None and (row["channel"], row["reply_ts"]) != tuple(message)):
            raise UserError("That button does not belong to a Wonolo job I know.")
        return row

    def cancel_job_view(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> dict:
        """The Cancel job modal, for an allowed user and a job that can still be cancelled."""
        row = self._known_job(value, message)
        key = row["job_id"]
        require_allowed(self.s, user_id, ids.WONOLO_CANCEL_JOB, key, WONOLO_ACTIONS)
        if row["state"] not in ui.JOB_CANCELLABLE_STATES:
            raise self._refuse(user_id, ids.WONOLO_CANCEL_JOB, key,
                               f"Job `{key}` is {ui.state_label(row['state']).lower()}; it can no longer be cancelled.")
        return ui.cancel_job_modal(row["data"] or {"id": key}, (row["data"] or {}).get("request_name"))

    def cancel_job(self, job_id: object, user_id: str, reason: str) -> Outcome:
        action = ids.WONOLO_CANCEL_JOB
        row = self._known_job(job_id)
        key = row["job_id"]
        reason = (reason or "").strip()[:200]
        require_allowed(self.s, user_id, action, key, WONOLO_ACTIONS)
        if not reason:
            raise UserError("Cancelling a job needs a reason.")
        if row["state"] not in ui.JOB_CANCELLABLE_STATES:
            raise self._refuse(user_id, action, key,
                               f"Job `{key}` is {ui.state_label(row['state']).lower()}; it can no longer be cancelled.")
        self._act(
            action, key, user_id, lambda: self.client.cancel_job(key, reason), cooldown=None,
            busy=f"Job `{key}` is already being cancelled by {{who}}.",
            done=lambda r: f"Job `{key}` was already cancelled by {mention(r['user_id'])}.",
        )
        self._audit(user_id, action, key, "cancelled", reason)
        self._refresh_quietly(lambda: self.sync_job(key), f"job {key}")
        worker = (row["data"] or {}).get("worker_name")
        return Outcome(f"Job `{key}`" + (f" of *{escape(worker)}*" if worker else "") + " is cancelled on Wonolo.")

    def message_view(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> dict:
        """The Message worker modal."""
        row = self._known_job(value, message)
        key = row["job_id"]
        require_allowed(self.s, user_id, ids.WONOLO_MESSAGE_WORKER, key, WONOLO_ACTIONS)
        if not (row["data"] or {}).get("worker_id"):
            raise self._refuse(user_id, ids.WONOLO_MESSAGE_WORKER, key, f"Job `{key}` has no worker to message.")
        return ui.message_modal(row["data"])

    def message_worker(self, job_id: object, user_id: str, body: str, view_id: str | None) -> Outcome:
        """Send an in-app message once per submitted modal (keyed by the view id)."""
        action = ids.WONOLO_MESSAGE_WORKER
        row = self._known_job(job_id)
        key = row["job_id"]
        body = (body or "").strip()
        require_allowed(self.s, user_id, action, key, WONOLO_ACTIONS)
        if not body:
            raise UserError("The message is empty.")

        def send():
            job = self.client.get_job(key)
            if job.worker is None or job.worker.id is None:
                raise UserError(f"Job `{key}` has no worker to message.")
            sender = job.employer.id if job.employer is not None and job.employer.id is not None else None
            if sender is None and job.job_request_id is not None:
                sender = self.client.get_job_request(job.job_request_id).employer_id
            if sender is None:
                raise UserError("Wonolo did not say who the requestor of this job is, so I cannot send as them.")
            self.client.create_message(sender_id=sender, receiver_id=job.worker.id, job_id=job.id, body=body)
            return job

        job = self._act(
            action, f"{key}:{view_id or uuid.uuid4().hex}", user_id, send, cooldown=None,
            busy="This message is already being sent.", done=lambda r: "This message was already sent.",
        )
        self._audit(user_id, action, key, "sent", f"{len(body)} characters to worker {job.worker.id}")
        return Outcome(f"Message sent to *{escape(job.worker.full_name)}* in the Wonolo app.")

    # ------------------------------------------------------------------ booking (/wonolo book, Book again)

    def _require_spender(self, user_id: str, target: str | None) -> None:
        self.spending.require_spender(user_id, ids.WONOLO_BOOK, target, "book Wonolo shifts")

    def book_view(self, user_id: str) -> dict:
        """The empty booking modal, for a spender (SQLite only: it opens within the trigger's 3 s)."""
        self._require_spender(user_id, None)
        return booking.book_modal()

    def book_again_view(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> dict:
        """"Book again" on a completed request's card: the modal, filled in after the open (book_form)."""
        row = self._known_request(value, message)
        key = row["job_request_id"]
        self._require_spender(user_id, key)
        if not ui.can_book_again(row["state"]):
            raise self._refuse(user_id, ids.WONOLO_BOOK_AGAIN, key,
                               f"Job request `{key}` is {ui.state_label(row['state']).lower()}: only a completed one can be booked again.")
        return booking.book_modal(booking.Prefill(source=key))

    def book_form(self, source: str | None) -> dict:
        """The modal with Wonolo's badges and customers as choices and, for Book again, the
        copied request's fields. A look-up that fails only leaves its part out."""
        prefill = None
        if source:
            prefill = booking.prefill_from_request(self.client.get_job_request(source))
        badges = customers = None
        try:
            badges = self.client.list_badges()
        except WonoloError as e:
            log.warning("booking form without badges: %s", _describe(e))
        try:
            customers = self.client.list_customers()
        except WonoloError as e:
            log.warning("booking form without customers: %s", _describe(e))
        return booking.book_modal(prefill, badges=badges, customers=customers)

    @staticmethod
    def check_book_view(values: dict) -> tuple[booking.Booking | None, dict[str, str]]:
        """The submitted modal: a Booking, or the errors to show next to each field (pure)."""
        return booking.parse_view(values)

    def offer_booking(self, b: booking.Booking, user_id: str) -> Reply:
        """Review: the shifts, the estimated cost and the spending rules, with Confirm / Cancel."""
        self._require_spender(user_id, None)
        cost = b.cost()
        terms = self.offers.terms(user_id, cost)
        if terms.refusal:
            records.audit(self.db, user_id, ids.WONOLO_BOOK, None, "refused", "over the daily spend limit", str(cost))
            return Reply(*booking.offer_message(b, cost, confirmation_id=None, minutes=CONFIRM_MINUTES,
                                                terms=terms.lines, refusal=terms.refusal))
        cid = self.offers.create(user_id, ids.WONOLO_BOOK, b.params(), cost, what=booking.what(b), target=None)
        return Reply(*booking.offer_message(b, cost, confirmation_id=cid, minutes=CONFIRM_MINUTES, terms=terms.lines))

    def confirm_booking(self, confirmation_id: object, user_id: str) -> Reply:
        """Confirm: once, same user (or a second spender), before expiry, within the limits; then
        exactly one POST to Wonolo, never retried behind the user's back."""
        settings = self.settings

        def second_request(row: Offer) -> tuple[str, list[dict]]:
            return booking.second_approval_request(
                requester=row.user_id, summary=row.params.get("summary") or "a Wonolo booking",
                cost=row.cost_amount, threshold=settings.second_approval_above,
                confirmation_id=row.id, hours=SECOND_APPROVAL_HOURS)

        decision = self.offers.confirm(confirmation_id, user_id, second_request=second_request)
        if decision.taken is None:
            text = decision.message or "This offer cannot be used."
            return Reply(text if decision.replace else f":warning: {text}", None, replace_original=decision.replace)
        return self._book(decision.taken, user_id)

    def _book(self, row: Offer, user_id: str) -> Reply:
        b = booking.Booking.from_params(row.params)
        action, cost = ids.WONOLO_BOOK, row.cost_amount
        try:
            if len(b.dates) > 1:
                created = self.client.create_multi_day_job_request(
                    repeat_type=b.repeat_type, repeat_number=len(b.dates), same_workers=False,
                    job_request=b.job_request_fields())
                jr_ids = [str(i) for i in created.get("job_request_ids") or [] if i is not None]
                reference, fee = f"multi-day request `{escape(created.get('id'))}`", created.get("fee")
            else:
                jr = self.client.create_job_request(**b.job_request_fields())
                jr_ids = [str(jr.id)] if jr.id is not None else []
                reference, fee = f"job request `{escape(jr.id)}`", jr.raw.get("fee")
        except WonoloError as e:
            reason = escape(str(e))
            if _certainly_not_booked(e):
                self.offers.back_to_waiting(row, user_id, str(e))
                return Reply(f":warning: {reason} Nothing was booked; the offer above still stands.")
            self.offers.finish_unknown(row, user_id, str(e))
            return Reply(f":warning: {reason} The request may or may not exist on Wonolo now: check `/wonolo requests` "
                         "before booking again. I will not retry on my own.", None, replace_original=True)
        except Exception:
            self.offers.finish_unknown(row, user_id, "unexpected error")
            raise
        self.offers.finish_done(row, {"job_request_ids": jr_ids}, cost)
        self._audit(user_id, action, ",".join(jr_ids)[:200] or "-", "booked", f"{row.params.get('summary', '')[:150]} {cost}")
        second = f" (second approval: {mention(row.second_by)})" if row.second_by else ""
        self._announce(f"{mention(row.user_id)}{second} booked on Wonolo: {row.params.get('summary')} — "
                       f"estimated {money(cost)} ({reference}).")
        for key in jr_ids:
            self._refresh_quietly(functools.partial(self.sync_request, key), f"job request {key}")
        details = [reference.capitalize(), f"estimated cost {money(cost)}"]
        if fee is not None:
            details.append(f"Wonolo's fee {escape(fee)}")
        if row.second_by:
            details.append(f"asked by {mention(row.user_id)}, confirmed by {mention(row.second_by)}")
        return Reply(f":white_check_mark: Booked. {' · '.join(details)}.", None, replace_original=True)

    def cancel_booking(self, confirmation_id: object, user_id: str) -> Reply:
        done, message = self.offers.cancel(confirmation_id, user_id)
        return Reply(message if done else f":warning: {message}", None, replace_original=done)

    def _announce(self, text: str) -> None:
        """Every spend is told in the review channel, where the spenders are."""
        try:
            self.slack.chat_postMessage(channel=self.settings.review_channel, text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            log.warning("could not post the booking notice: %s", e.response.get("error"))

    # ------------------------------------------------------------------ /wonolo

    def run(self, text: str, user_id: str) -> Reply:
        """Handle `/wonolo <text>`; bad input and Wonolo errors raise (UserError, WonoloError) for the one funnel."""
        words = (text or "").split()
        name = words[0].lower() if words else "help"
        args = words[1:]
        handler = {
            "help": self._help, "requests": self._requests, "request": self._request, "jobs": self._jobs,
            "job": self._job, "worker": self._worker, "invite": self._invite, "badges": self._badges,
            "book": self._book_text,
        }.get(name)
        if handler is None:
            return Reply(*ui.help_message(f"Unknown command `{_shown(name, 30)}`.{suggest(name, ui.COMMANDS)}"))
        return Reply(*handler(args, user_id))

    @staticmethod
    def _page_answer(work: Callable[[], tuple]) -> Reply:
        """A page, or why not: it replaces the list the click came from (not a new message)."""
        try:
            return Reply(*work())
        except UserError as e:
            return Reply(*ui.notice(f":warning: {e}"))
        except WonoloError as e:
            return Reply(*ui.notice(f":warning: {escape(str(e))}"))

    def page(self, value: object, user_id: str) -> Reply:
        """A Next/Previous click on a /wonolo list: that page, fetched from Wonolo again."""
        found = ui.page_from_value(value) if isinstance(value, str) else None
        if found is None or found[2] > MAX_PAGE:
            return Reply(*ui.notice(":warning: That button does not belong to a Wonolo list I made."))
        kind, state, number = found
        allowed = JOB_REQUEST_STATES if kind == "requests" else JOB_STATES
        if state is not None and state not in allowed:
            return Reply(*ui.notice(":warning: That button does not belong to a Wonolo list I made."))
        if kind == "requests":
            return self._page_answer(lambda: self._request_page(state, number))
        return self._page_answer(lambda: self._job_page(state, number))

    def _book_text(self, args, user_id):
        """`/wonolo book` opens its modal in the listener; this answers `/wonolo book <anything>`."""
        raise UserError("`/wonolo book` takes no arguments: it opens the booking form.")

    def _help(self, args, user_id):
        return ui.help_message()

    @staticmethod
    def _state(args: list[str], allowed: tuple[str, ...], what: str, usage: str) -> str | None:
        if len(args) > 1:
            raise UserError(f"Give at most one state: `{usage}`.")
        if not args:
            return None
        state = args[0].strip().lower()
        if state not in allowed:
            valid = ", ".join(f"`{s}`" for s in allowed)
            raise UserError(f"Unknown {what} state `{_shown(args[0], 30)}`.{suggest(state, allowed)} Valid states: {valid}.")
        return state

    @staticmethod
    def _one_id(args: list[str], what: str, usage: str) -> str:
        if len(args) != 1:
            raise UserError(f"Give one {what} id: `{usage}`.")
        value = args[0].strip()
        if not _ID_RE.match(value):
            raise UserError(f"No {what} with id `{_shown(value)}`.")
        return value

    # Each page is one Wonolo page of ui.PAGE, fetched when it is shown (no cache):
    # Next is offered while a page comes back full.

    def _request_page(self, state: str | None, page: int):
        items = self.client.list_job_requests(state, page=page, per=ui.PAGE)[: ui.PAGE]
        return ui.request_list(items, state=state, page=page, has_next=len(items) >= ui.PAGE and page < MAX_PAGE)

    def _job_page(self, state: str | None, page: int):
        items = self.client.list_jobs(state, page=page, per=ui.PAGE)[: ui.PAGE]
        return ui.job_list(items, state=state, page=page, has_next=len(items) >= ui.PAGE and page < MAX_PAGE)

    def _requests(self, args, user_id):
        state = self._state(args, JOB_REQUEST_STATES, "job request", "/wonolo requests [state]")
        return self._request_page(state, 1)

    def _jobs(self, args, user_id):
        state = self._state(args, JOB_STATES, "job", "/wonolo jobs [state]")
        return self._job_page(state, 1)

    def _invite(self, args, user_id):
        """`/wonolo invite <email>`: POST /users/invite, allowed users only, once per address a day."""
        action = ids.WONOLO_INVITE
        if len(args) != 1:
            raise UserError(f"Give one e-mail address: {ui.usage_line('invite')}.")
        email = _email(args[0])
        if email is None:
            raise UserError(f"`{_shown(args[0])}` is not an e-mail address: {ui.usage_line('invite')}.")
        target = email.lower()
        require_allowed(self.s, user_id, action, target, WONOLO_ACTIONS)
        self._act(
            action, target, user_id, lambda: self.client.invite_user(email=email),
            cooldown=INVITE_COOLDOWN_SECONDS,
            busy=f"`{escape(email)}` is already being invited by {{who}}.",
            done=lambda r: f"{mention(r['user_id'])} invited `{escape(email)}` less than a day ago.",
        )
        self._audit(user_id, action, target, "invited")
        return ui.notice(f":envelope: Wonolo is inviting `{escape(email)}` to join as a worker.")

    def _request(self, args, user_id):
        key = self._one_id(args, "job request", "/wonolo request <id>")
        try:
            jr = self.client.get_job_request(key)
        except WonoloNotFound:
            raise UserError(f"No job request with id `{escape(key)}`.") from None
        jobs = self.client.list_jobs(job_request_id=key)
        return ui.request_detail(jr, jobs)

    def _job(self, args, user_id):
        key = self._one_id(args, "job", "/wonolo job <id>")
        try:
            job = self.client.get_job(key)
        except WonoloNotFound:
            raise UserError(f"No job with id `{escape(key)}`.") from None
        name = tz = None
        if job.job_request_id is not None:
            try:
                jr = self.client.get_job_request(job.job_request_id)
                name, tz = jr.request_name, jr.timezone
            except WonoloError:
                pass
        return ui.job_detail(job, name, tz)

    def _worker(self, args, user_id):
        if len(args) != 1:
            raise UserError("Give one worker id or email: `/wonolo worker <id|email>`.")
        # The answer tells whether an address belongs to a worker: allowed users only.
        require_allowed(self.s, user_id, "wonolo-worker", "-", "look up Wonolo workers",
                        lead="Looking up Wonolo workers is for allowed users only.")
        value = args[0].strip()
        if value.startswith("<mailto:") and "|" in value:  # Slack may have linked the email
            value = value[len("<mailto:"):].split("|", 1)[0]
        if "@" in value:
            if len(value) > 254:
                raise UserError(f"No worker with email `{_shown(value)}`.")
            found = [u for u in self.client.list_users(email=value)
                     if (u.email or "").lower() == value.lower()]
            if not found:
                raise UserError(f"No worker with email `{_shown(value)}`.")
            user = found[0]
        else:
            if not _ID_RE.match(value):
                raise UserError(f"No worker with id `{_shown(value)}`.")
            try:
                user = self.client.get_user(value)
            except WonoloNotFound:
                raise UserError(f"No worker with id `{escape(value)}`.") from None
        return ui.worker_detail(user, show_contact=self.s.permissions.may_review(user_id))

    def _badges(self, args, user_id):
        if args:
            raise UserError("`/wonolo badges` takes no arguments.")
        badges = self.client.list_badges()
        return ui.badge_list(badges[: ui.PAGE], more=max(0, len(badges) - ui.PAGE))
