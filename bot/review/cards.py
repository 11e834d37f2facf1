"""Cards shown from stored state: a submission's message (or its batch message) is rendered
from the database and updated in place, never from what a click carried.

Shared by posting (the first post, recovery) and decisions (in progress, outcome, failure).
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Sequence
from typing import cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.connectivity import slack_outage
from bot.forensics.service import Flag, ProofForensics
from bot.review.render import CardLooks, batch_message, batch_row_blocks, fraud_flags, review_message
from bot.slack.image_fallback import send_with_image_fallback
from storage import campaigns as campaign_store
from storage import submissions as subs
from storage import worker_blocks as block_store
from storage.db import Database, Store
from storage.rows import SubmissionRow

log = logging.getLogger("gigdesk.review")


class Cards:
    """Render stored submissions and rebuild their messages in Slack."""

    def __init__(self, settings: Settings, store: Store, slack: WebClient, forensics: ProofForensics | None) -> None:
        self.settings = settings
        self.store = store
        self.slack = slack
        self.forensics = forensics
        self._message_locks = [threading.Lock() for _ in range(64)]  # striped by submission id or message

    @property
    def db(self) -> Database:
        return self.store.db

    def _proof_flags(self, submission_id: int) -> Sequence[Flag]:
        return self.forensics.flags_for(submission_id) if self.forensics else ()

    def looks(self, row: SubmissionRow, *, with_images: bool = True) -> CardLooks:
        """What the card of a stored row shows beside the row: read from the database now."""
        return CardLooks(
            block=block_store.block_of(self.db, row.worker_id),
            new_account_days=self.settings.new_account_days,
            low_approval_rate=self.settings.low_approval_rate,
            with_images=with_images,
            forensics=self._proof_flags(row.submission_id),
            requirement=campaign_store.campaign_requirement(self.db, row.campaign_id),
        )

    def render(self, row: SubmissionRow, *, with_images: bool = True, notice: str | None = None,
               progress: str | None = None) -> tuple[str, list[dict]]:
        return review_message(row, self.looks(row, with_images=with_images), notice=notice, progress=progress)

    def render_batch(self, rows: list[SubmissionRow], *, with_images: bool = True) -> tuple[str, list[dict]]:
        """A batch message (up to 10 rows) from stored rows."""
        return batch_message(rows, lambda row: batch_row_blocks(row, self.looks(row, with_images=with_images)))

    def flags(self, submission_id: int, data: dict) -> list[str]:
        """The flags that keep a submission out of bulk approval unless included explicitly: the
        account flags its review message shows, and any suspicious proof-forensics flag (an image
        that could not be checked is shown on the card but flags nothing)."""
        proof = [f for f in self._proof_flags(submission_id) if f.suspicious]
        return fraud_flags(data, new_account_days=self.settings.new_account_days,
                           low_approval_rate=self.settings.low_approval_rate, forensics=proof)

    def _message_lock(self, key: int) -> threading.Lock:
        return self._message_locks[key % len(self._message_locks)]

    def refresh_message(self, submission_id: int, *, notice: str | None = None, progress: str | None = None) -> None:
        """Rebuild the message in place from stored state (chat.update).

        Reading the row and updating the message happen under one lock per
        message, so updates reach Slack in the order of the states they show:
        a slow in-progress update can never land after the final one.
        `notice`: why a decision failed, shown with the buttons; `progress`: an
        action under way that is not a stored state (Block worker), shown instead of them.
        A row of a batch message rebuilds the whole batch message (from its rows' states).
        """
        posted = subs.get(self.db, submission_id)
        if posted is None or not posted.ts:
            return
        if posted.batch_row is not None:
            if progress is not None:
                return  # a batch row shows stored states only (its own in-progress, outcome, blocked)
            with self._message_lock(zlib.crc32(f"{posted.channel}/{posted.ts}".encode())):
                self.refresh_batch(cast(str, posted.channel), posted.ts)
            return
        with self._message_lock(submission_id):
            row = subs.get(self.db, submission_id)
            if row is None or not row.ts:
                return
            channel, ts = cast(str, row.channel), row.ts
            send_with_image_fallback(
                lambda with_images: self.render(row, with_images=with_images, notice=notice, progress=progress),
                lambda text, blocks: self.slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks))

    def refresh_batch(self, channel: str, ts: str) -> None:
        """Rebuild a batch message from stored state: decided rows collapsed, the others keep their buttons."""
        rows = subs.batch_rows(self.db, channel, ts)
        if rows:
            send_with_image_fallback(
                lambda with_images: self.render_batch(rows, with_images=with_images),
                lambda text, blocks: self.slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks))

    def refresh_quietly(self, submission_id: int, *, notice: str | None = None, progress: str | None = None) -> None:
        """refresh_message, logging (not raising) when Slack refuses or is out of reach."""
        try:
            self.refresh_message(submission_id, notice=notice, progress=progress)
        except SlackApiError as e:
            log.warning("could not update message of submission %s: %s", submission_id, e.response.get("error"))
        except Exception as e:
            outage = slack_outage(e, self.settings.slack_api_url)
            if outage is None:
                raise
            log.warning("could not update message of submission %s: %s", submission_id, outage)

    def refresh_worker(self, worker_id: str) -> None:
        """Rebuild every open message of a worker (blocked or unblocked)."""
        rebuilt: set[object] = set()
        for other in subs.posted(self.db, worker_id=worker_id):
            # a batch message is rebuilt whole, once, however many of its rows are this worker's
            key = (other.channel, other.ts) if other.batch_row is not None else other.submission_id
            if key not in rebuilt:
                rebuilt.add(key)
                self.refresh_quietly(other.submission_id)
