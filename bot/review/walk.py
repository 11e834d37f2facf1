"""`/rw next` (and App Home's button): the oldest waiting submissions, one at a time, in a modal.

The walk shows the same card as the channel (bot.review.render.card_blocks) with Approve,
Reject (the reason typed in place) and Skip. Decisions go through bot.review.decisions like
a click on the channel card: the same guards, the same in-progress state, and the channel
card is rebuilt too. What the walk remembers (the submissions skipped) rides in the modal's
private_metadata; nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.permissions import require_allowed
from bot.review.cards import Cards
from bot.review.reminders import waiting_since
from bot.review.render import CardLooks, card_blocks, reason_inputs, waits_for_decision
from bot.services import Services
from bot.slack import ids
from bot.slack.mrkdwn import truncate
from storage import submissions as subs
from storage.db import Database
from storage.rows import SubmissionRow

SKIPPED_KEPT = 100  # private_metadata holds 3000 characters: the latest skips are enough
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Skipped:
    """The submissions skipped in this walk, as the modal carries them ("12,15,…")."""

    ids: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: object) -> Skipped:
        """Only what the bot wrote (ASCII digits, commas); anything else is an empty walk."""
        if not isinstance(text, str) or len(text) > 3000:
            return cls()
        parts = [p for p in text.split(",") if p]
        if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
            return cls()
        return cls(tuple(int(p) for p in parts[-SKIPPED_KEPT:]))

    def plus(self, submission_id: int) -> Skipped:
        return Skipped((*self.ids, submission_id)[-SKIPPED_KEPT:])

    def text(self) -> str:
        return ",".join(str(i) for i in self.ids)


def walk_metadata(submission_id: int | None, skipped: Skipped) -> str:
    """The modal's private_metadata: the submission shown, then the skipped ones ("12:3,4")."""
    return f"{submission_id or ''}:{skipped.text()}"


def read_walk_metadata(text: object) -> tuple[int | None, Skipped]:
    """(submission shown, skipped) from the modal's private_metadata; what the bot did not write reads as nothing."""
    shown, _, skipped = text.partition(":") if isinstance(text, str) else ("", "", "")
    valid = shown.isascii() and shown.isdigit() and len(shown) <= 18
    return (int(shown) if valid else None), Skipped.parse(skipped)


def oldest_first(rows: Sequence[SubmissionRow]) -> list[SubmissionRow]:
    """By when the worker submitted (else when the bot saw it), then by id."""
    return sorted(rows, key=lambda r: (waiting_since(r) or _LONG_AGO, r.submission_id))


def walk_modal(row: SubmissionRow | None, looks: CardLooks | None, *, skipped: Skipped, waiting: int,
               notice: str | None = None, busy: bool = False) -> dict:
    """The walk's modal: what just happened, then the card with Approve / Skip and the reason
    fields with Reject (the modal's submit: Slack wants one beside input blocks) while it waits;
    the card alone while a decision is under way (or `busy`: the click is being taken up);
    or the end of the walk."""
    blocks: list[Block] = []
    if notice:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(notice, 3000))))
    if row is None or looks is None:
        more = f" ({len(skipped.ids)} skipped: run `/rw next` again to see them)" if skipped.ids else ""
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":tada: Nothing else waits for review{more}.")))
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"{waiting} waiting · oldest first · submission `{row.submission_id}`")]))
        blocks.extend(card_blocks(row, looks))
        if waits_for_decision(row) and not busy:
            value = str(row.submission_id)
            blocks.append(ActionsBlock(block_id=f"next-{value}", elements=[
                ButtonElement(text="Approve", action_id=ids.NEXT_APPROVE, value=value, style="primary"),
                ButtonElement(text="Skip", action_id=ids.NEXT_SKIP, value=value),
            ]))
            blocks.append(SectionBlock(text=MarkdownTextObject(text="*Or reject it:* a reason is required (pick a common one or type your own), then *Reject*.")))
            blocks.extend(reason_inputs())
            return View(type="modal", callback_id=ids.NEXT_MODAL, title="Next submission", close="Done", submit="Reject",
                        private_metadata=walk_metadata(row.submission_id, skipped), blocks=blocks).to_dict()
    shown = row.submission_id if row is not None else None
    return View(type="modal", callback_id=ids.NEXT_MODAL, title="Next submission", close="Done",
                private_metadata=walk_metadata(shown, skipped), blocks=blocks).to_dict()


class Walk:
    """Which submission comes next, and its modal."""

    def __init__(self, services: Services, cards: Cards) -> None:
        self.s = services  # infrastructure: the store, who may review
        self.cards = cards

    @property
    def db(self) -> Database:
        return self.s.store.db

    def waiting(self) -> list[SubmissionRow]:
        """Posted submissions waiting for a decision, oldest first."""
        return oldest_first([r for r in subs.posted(self.db) if r.state == "posted" and r.ts])

    def next_view(self, user_id: str | None, skipped: Skipped, *, notice: str | None = None,
                  with_images: bool = True) -> dict:
        """The modal of the oldest waiting submission not skipped (allowed users only)."""
        require_allowed(self.s, user_id, "next", None, "review submissions")
        waiting = self.waiting()
        row = next((r for r in waiting if r.submission_id not in skipped.ids), None)
        looks = self.cards.looks(row, with_images=with_images) if row is not None else None
        return walk_modal(row, looks, skipped=skipped, waiting=len(waiting), notice=notice)

    def view_of(self, user_id: str | None, submission_id: int, skipped: Skipped, *, notice: str | None = None,
                with_images: bool = True, busy: bool = False) -> dict:
        """The modal of one submission as it is stored now (in progress, or back to waiting);
        once it is decided, the next one's."""
        row = subs.get(self.db, submission_id)
        if row is None or row.state not in ("posted", "approving", "rejecting"):
            return self.next_view(user_id, skipped, notice=notice, with_images=with_images)
        looks = self.cards.looks(row, with_images=with_images)
        return walk_modal(row, looks, skipped=skipped, waiting=len(self.waiting()), notice=notice, busy=busy)
