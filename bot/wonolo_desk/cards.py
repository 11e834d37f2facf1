"""One card per job request, updated in place; each job's state changes as replies in its thread.

One message per job request in WONOLO_CHANNEL (wonolo_requests keeps its channel
and ts), updated in place with chat.update, and only when what it shows changed (a
digest of text and blocks is kept). Each job's state changes are replies in that
thread; a reply is posted only when the job's state differs from the last one
recorded in wonolo_jobs, and only the latest reply of a job keeps its buttons.

Work on a job request runs under a per-job-request lock (a job's under a per-job
lock taken first), and resources are fetched inside the locks: concurrent or
out-of-order deliveries (webhooks, polls, refreshes after a click) post one
message, and the last render shows the current state. A job request row with no
ts is a claim whose post may or may not have reached Slack (crash, timeout): the
next attempt looks for the message by its metadata before posting again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import ids
from bot.wonolo_desk import blocks as ui
from bot.wonolo_desk.common import update_message
from storage import wonolo_desk as desk_rows

log = logging.getLogger("gigdesk.wonolo.desk")

FIND_PAGES = 3  # history pages searched for a card whose post was cut short


def _digest(text: str, blocks: list) -> str:
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()


class Cards:
    """Posts and updates the job request cards and their job threads."""

    def __init__(self, store: Any, slack: Any, client: Any, channel: str,
                 after_sync: Callable[[Any, list], None] | None = None):
        self.store = store
        self.slack = slack
        self.client = client
        self.channel = channel
        # Called with (job request, jobs) after each sync, under the request's lock (the unfilled alert).
        self.after_sync = after_sync
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @property
    def db(self):
        return self.store.db

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    def request_row(self, key: str) -> desk_rows.RequestMessageRow | None:
        return desk_rows.request_message(self.db, key)

    def job_row(self, key: str) -> desk_rows.JobReplyRow | None:
        return desk_rows.job_reply(self.db, key)

    def sync_request(self, job_request_id: str) -> tuple[str, str]:
        """Fetch a job request and its jobs; post or update its card."""
        key = str(job_request_id)
        with self._lock(f"jr:{key}"):
            jr = self.client.get_job_request(key)
            jobs = self.client.list_jobs(job_request_id=key)
            shown = self._show_request(jr, jobs)
            self._after(jr, jobs)
            return shown

    def sync_job(self, job_id: str) -> bool:
        """Fetch a job; make sure its job request's card exists and is current;
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
                self._after(jr, jobs)
                return self._show_job(job, jr, channel, ts)

    def _after(self, jr, jobs) -> None:
        if self.after_sync is not None:
            self.after_sync(jr, jobs)

    def _show_request(self, jr, jobs) -> tuple[str, str]:
        """Post the job request's card once, else update it if it changed. Lock held."""
        key = str(jr.id)
        cancelled_by = desk_rows.action_done_by(self.db, ids.WONOLO_CANCEL_REQUEST, key)
        text, blocks = ui.request_message(jr, jobs, cancelled_by=cancelled_by)
        # Compared without "starts in …": the clock alone never re-sends the message.
        rendered = _digest(*ui.request_message(jr, jobs, cancelled_by=cancelled_by, relative=False))
        row = self.request_row(key)
        if row is not None and row["ts"]:
            if row["rendered"] == rendered:
                return row["channel"], row["ts"]
            if update_message(self.slack, row["channel"], row["ts"], text, blocks):
                desk_rows.save_request_message(self.db, key, row["channel"], row["ts"], jr.state, rendered)
                return row["channel"], row["ts"]
            log.warning("the message of Wonolo job request %s was deleted; posting it again", key)
            row = None
        channel = (row["channel"] if row else None) or self.channel
        ts = None
        if row is not None:  # claimed earlier, but the post was never recorded
            ts = self._find_posted(channel, key)
            if ts is not None and not update_message(self.slack, channel, ts, text, blocks):
                ts = None
        else:
            desk_rows.save_request_message(self.db, key, channel, None, jr.state, None)  # the claim
        if ts is None:
            response = self.slack.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata=ui.request_metadata(key),
                unfurl_links=False, unfurl_media=False,
            )
            channel, ts = response["channel"], response["ts"]
        desk_rows.save_request_message(self.db, key, channel, ts, jr.state, rendered)
        return channel, ts

    def _find_posted(self, channel: str, key: str) -> str | None:
        """The ts of our card for this job request, looked up by its metadata."""
        pages = 0
        for page in self.slack.conversations_history(channel=channel, include_all_metadata=True, limit=200):
            for message in page.get("messages", []):
                meta = message.get("metadata") or {}
                if (meta.get("event_type") == ids.WONOLO_REQUEST_EVENT
                        and str((meta.get("event_payload") or {}).get("job_request_id")) == key):
                    return message["ts"]
            pages += 1
            if pages >= FIND_PAGES:
                break
        return None

    def _show_job(self, job, jr, channel: str, root_ts: str) -> bool:
        """Reply in the thread when the job's state changed since the last reply. Lock held."""
        key = str(job.id)
        row = self.job_row(key)
        if row is not None and row["state"] == job.state:
            return False
        snap = ui.job_snapshot(job)
        snap["request_name"] = jr.request_name
        text, blocks = ui.job_reply(snap, tz_name=jr.timezone)
        response = self.slack.chat_postMessage(channel=channel, thread_ts=root_ts, text=text, blocks=blocks,
                                               unfurl_links=False, unfurl_media=False)
        desk_rows.save_job_reply(self.db, key, str(jr.id), job.state, response["channel"], response["ts"], snap)
        if row is not None:
            self._strip_old_buttons(row, jr.timezone)
        return True

    def _strip_old_buttons(self, row: desk_rows.JobReplyRow, tz_name: str | None) -> None:
        """Only the latest reply of a job keeps buttons."""
        old = row["data"] or {}
        channel, reply_ts = row["channel"], row["reply_ts"]
        if not (channel and reply_ts) or ui.job_buttons(old) is None:
            return
        old_text, old_blocks = ui.job_reply(old, tz_name=tz_name, with_buttons=False)
        try:
            update_message(self.slack, channel, reply_ts, old_text, old_blocks)
        except SlackApiError as e:
            log.warning("could not take the buttons off an old reply of job %s: %s", row.get("job_id"),
                        e.response.get("error"))

    def permalink(self, job_request_id: str) -> str | None:
        """A link to the request's card (chat.getPermalink); None when there is none (yet)."""
        row = self.request_row(str(job_request_id))
        if row is None or not row.get("ts"):
            return None
        try:
            return self.slack.chat_getPermalink(channel=row["channel"], message_ts=row["ts"]).get("permalink")
        except SlackApiError as e:
            log.warning("no link to the card of job request %s: %s", job_request_id, e.response.get("error"))
            return None
