"""Decisions: approve, reject and block worker, each taken once, shown in progress first.

A decision is started (the guards: who may, which message, decided once; then the stored
'approving'/'rejecting' state and the card rebuilt from it, before any API call) and then
completed (the RapidWorkers call; the outcome stored, audited and shown, or the buttons back
with the reason). The channel cards, batch rows, the reject modal, `/rw next` and approve-all
all go through here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from bot.errors import UserError
from bot.observability import metrics
from bot.outcomes import Outcome
from bot.permissions import require_allowed
from bot.rapidworkers.client import (
    BadRequest,
    InvalidInput,
    NetworkError,
    NotFound,
    RapidWorkersError,
    ServerError,
    Submission,
)
from bot.review.cards import Cards
from bot.services import Services
from bot.slack.mrkdwn import escape, mention
from storage import audit as audit_store
from storage import submissions as subs
from storage import worker_blocks as block_store
from storage.db import Database
from storage.rows import SubmissionRow

log = logging.getLogger("gigdesk.review")


@dataclass(frozen=True)
class Started:
    """A decision taken (the message shows it in progress) whose API call is still to come."""

    row: SubmissionRow
    user_id: str
    action: str  # "approve" | "reject" | "block"
    notes: str | None



def _failure(e: RapidWorkersError | InvalidInput) -> str:
    """What the clicker reads when RapidWorkers did not take a decision (never retried here)."""
    if isinstance(e, NetworkError):
        if e.may_have_reached_server:
            return f"RapidWorkers did not answer in time ({e}). It may or may not have gone through; click again and I will find out."
        return f"Could not reach RapidWorkers ({e})."
    if isinstance(e, ServerError):
        return f"RapidWorkers had an error ({e}). Nothing was recorded; click again to retry."
    return f"RapidWorkers said: {e}"


class Decisions:
    """Approve, reject, block and unblock; approve-all's one submission; recovery at start."""

    def __init__(self, services: Services, cards: Cards) -> None:
        self.s = services  # infrastructure: the store, RapidWorkers, who may review
        self.cards = cards

    @property
    def db(self) -> Database:
        return self.s.store.db

    def _refresh_quietly(self, submission_id: int, *, notice: str | None = None, progress: str | None = None) -> None:
        self.cards.refresh_quietly(submission_id, notice=notice, progress=progress)

    def _row_for_action(self, submission_id: object, message: tuple[str, str] | None = None) -> SubmissionRow:
        """The stored row a button (or modal) names.

        Only the exact value the bot wrote is accepted (ASCII digits; not
        "1_001", " 1001" or "１００１", which int() would take), and with
        `message` (channel, ts of the clicked message) the submission must be
        the one that message shows: a button acts on its own message only.
        """
        if isinstance(submission_id, int) and not isinstance(submission_id, bool):
            text = str(submission_id)  # from code, not from a payload
        else:
            text = submission_id if isinstance(submission_id, str) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise UserError("That button does not belong to a submission I know.")
        row = subs.get(self.db, int(text))
        if row is None:
            raise UserError("That button does not belong to a submission I know.")
        if message is not None and (row.channel, row.ts) != tuple(message):
            raise UserError("That button does not belong to a submission I know.")
        return row

    @staticmethod
    def _already(row: SubmissionRow) -> str | None:
        state = row.state
        if state in ("approved", "rejected"):
            who = f"by {mention(row.decided_by)}" if row.decided_by else "on RapidWorkers"
            return f"Submission {row.submission_id} was already {state} {who}."
        if state in ("approving", "rejecting"):
            return f"Submission {row.submission_id} is already being {state[:-3]}ed by {mention(row.acting_user)}."
        if state == "claimed":
            return f"Submission {row.submission_id} is still being posted; try again in a moment."
        return None

    def check_actionable(self, submission_id: object, user_id: str, action: str, *, message: tuple[str, str] | None = None) -> SubmissionRow:
        """Refuse (UserError) unless the user may act and the submission waits for a decision.

        `message`: (channel, ts) of the message whose button was clicked, if any.
        """
        row = self._row_for_action(submission_id, message)
        require_allowed(self.s, user_id, action, str(row.submission_id), "review submissions")
        already = self._already(row)
        if already:
            audit_store.audit(self.db, user_id, action, str(row.submission_id), "refused", already)
            raise UserError(already)
        return row

    def approve(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        return self.complete(self.start_approval(submission_id, user_id, message=message))

    def reject(self, submission_id: object, user_id: str, reason: str) -> Outcome:
        return self.complete(self.start_rejection(submission_id, user_id, reason))

    def start_approval(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Started:
        """Take the submission for approval and show it in progress; `complete` calls the API."""
        return self._start(submission_id, user_id, "approve", None, message)

    def start_rejection(self, submission_id: object, user_id: str, reason: str) -> Started:
        """Take the submission for rejection and show it in progress; `complete` calls the API."""
        reason = (reason or "").strip()
        if not reason:
            raise UserError("A rejection needs a reason.")
        return self._start(submission_id, user_id, "reject", reason[:1000])

    def _start(self, submission_id: object, user_id: str, action: str, notes: str | None, message: tuple[str, str] | None = None) -> Started:
        """The decided-once guard, then the in-progress message (no buttons) before any API call."""
        row = self.check_actionable(submission_id, user_id, action, message=message)
        sid = row.submission_id
        if not subs.begin_decision(self.db, sid, "approving" if action == "approve" else "rejecting", user_id):
            refusal = self._already(cast(SubmissionRow, subs.get(self.db, sid))) or f"Submission {sid} changed meanwhile; look again."
            audit_store.audit(self.db, user_id, action, str(sid), "refused", refusal)
            raise UserError(refusal)
        self._show_in_progress(sid)  # from the stored 'approving'/'rejecting' state
        return Started(row, user_id, action, notes)

    def _show_in_progress(self, submission_id: int, *, progress: str | None = None) -> None:
        """The in-progress message, before any API call; never stops the action if Slack fails."""
        try:
            self._refresh_quietly(submission_id, progress=progress)
        except Exception as e:
            log.warning("could not show submission %s in progress: %s", submission_id, type(e).__name__)

    def complete(self, started: Started) -> Outcome:
        """Call RapidWorkers for a started action; store and show what happened."""
        if started.action == "block":
            return self._complete_block(started)
        row, user_id, action = started.row, started.user_id, started.action
        sid = row.submission_id
        try:
            if action == "approve":
                decision = self.s.rw.approve(row.campaign_id, sid)
            else:
                decision = self.s.rw.reject(row.campaign_id, sid, cast(str, started.notes))  # a rejection always has notes
        except BadRequest as e:
            if "already processed" in (e.error or str(e)).lower():
                return self._settle_from_upstream(row, user_id, action)
            return self._failed(row, user_id, action, f"RapidWorkers refused: {e}")
        except (RapidWorkersError, InvalidInput) as e:
            return self._failed(row, user_id, action, _failure(e))
        except Exception:
            subs.revert_decision(self.db, sid)
            audit_store.audit(self.db, user_id, action, str(sid), "error", "unexpected error")
            self._refresh_quietly(sid, notice="Something went wrong on my side; nothing was recorded. Click again to retry.")
            raise
        return self._record(started, decision.amount_paid)

    def _record(self, started: Started, amount: Decimal | None) -> Outcome:
        """The decision went through: store, audit and show it (an approval without an amount paid the pay)."""
        row, user_id, notes, sid = started.row, started.user_id, started.notes, started.row.submission_id
        outcome = "approved" if started.action == "approve" else "rejected"
        if amount is None and started.action == "approve":
            amount = Decimal(str(row.data.get("pay") or "0")) or None
        paid = str(amount) if amount is not None else None
        subs.finish_decision(self.db, sid, outcome, decided_by=user_id, amount_paid=paid, notes=notes)
        audit_store.audit(self.db, user_id, started.action, str(sid), outcome, notes, paid)
        metrics.decided(started.action, outcome, paid=amount)
        self._refresh_quietly(sid)
        return Outcome()

    def _failed(self, row: SubmissionRow, user_id: str, action: str, message: str) -> Outcome:
        """The API call failed: the buttons come back, with the reason on the message."""
        subs.revert_decision(self.db, row.submission_id)
        audit_store.audit(self.db, user_id, action, str(row.submission_id), "failed", message)
        metrics.decided(action, "failed")
        verb = "Approve" if action == "approve" else "Reject"
        self._refresh_quietly(row.submission_id, notice=f"{verb} by {mention(user_id)} failed: {escape(message)}")
        raise UserError(message + " The submission is still open.")

    def _settle_from_upstream(self, row: SubmissionRow, user_id: str, action: str) -> Outcome:
        """400 'already processed': someone decided on the website; show the real status."""
        sid = row.submission_id
        status = self.upstream_status(row)
        if status in ("Approved", "Rejected"):
            subs.finish_decision(self.db, sid, status.lower(), decided_by=None, notes=None, via="rapidworkers")
            audit_store.audit(self.db, user_id, action, str(sid), "already-decided", f"{status} on RapidWorkers")
            self._refresh_quietly(sid)
            return Outcome(f"Submission {sid} was already {status.lower()} on RapidWorkers; the message now shows it.")
        subs.revert_decision(self.db, sid)
        audit_store.audit(self.db, user_id, action, str(sid), "failed", "already processed, status unknown")
        self._refresh_quietly(sid, notice="RapidWorkers says it was already processed, but its status could not be read.")
        raise UserError(f"RapidWorkers says submission {sid} was already processed, but I could not find its status.")

    def upstream_status(self, row: SubmissionRow) -> str | None:
        """The submission's current status on RapidWorkers, or None if not found."""
        try:
            for found in self.s.rw.list_submissions(row.campaign_id):
                if found.id == row.submission_id:
                    return found.status
        except (NotFound, RapidWorkersError) as e:
            log.warning("could not read submission %s upstream: %s", row.submission_id, e)
        return None

    def settle_in_flight(self) -> int:
        """At start: decisions under way when the bot died are settled from upstream."""
        settled = 0
        for row in subs.in_flight(self.db):
            status = self.upstream_status(row)
            if status in ("Approved", "Rejected"):
                subs.finish_decision(self.db, row.submission_id, status.lower(), decided_by=row.acting_user, notes=None, via="recovered")
                audit_store.audit(self.db, row.acting_user, "recover", str(row.submission_id), status.lower(), "settled at start")
            elif status == "Pending":
                if row.ts:
                    subs.revert_decision(self.db, row.submission_id)
                else:  # taken unposted by an approve-all: forget it, the sync posts it
                    subs.undo_bulk_approval(self.db, row.submission_id)
                audit_store.audit(self.db, row.acting_user, "recover", str(row.submission_id), "reopened", "not decided upstream")
            else:
                continue
            settled += 1
            self._refresh_quietly(row.submission_id)
        return settled

    def block_worker(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        """Block the submission's worker; the submission stays reviewable."""
        return self.complete(self.start_block(submission_id, user_id, message=message))

    def start_block(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Started:
        """Check a Block worker click and show it in progress (no buttons); `complete` blocks."""
        row = self._row_for_action(submission_id, message)
        sid = row.submission_id
        require_allowed(self.s, user_id, "block", str(sid), "block workers")
        worker_id = row.worker_id
        name = row.data.get("worker_name")
        already = self._already(row)
        if already:  # a decided message has no Block button any more
            audit_store.audit(self.db, user_id, "block", str(sid), "refused", already)
            raise UserError(f"{already} To block its worker, use `/rw block {escape(worker_id or '?')}`.")
        if block_store.block_of(self.db, worker_id):
            audit_store.audit(self.db, user_id, "block", str(sid), "refused", "already blocked")
            raise UserError(f"{escape(name or worker_id)} is already blocked.")
        # Not a stored state (blocking decides nothing): shown once; the rebuild after the block replaces it.
        self._show_in_progress(sid, progress=f":hourglass_flowing_sand: *Blocking worker…* — {mention(user_id)}")
        return Started(row, user_id, "block", None)

    def _complete_block(self, started: Started) -> Outcome:
        row, user_id = started.row, started.user_id
        sid, name = row.submission_id, row.data.get("worker_name")
        try:
            self.block(row.worker_id, user_id, worker_name=name, target=str(sid))
        except UserError as e:
            self._refresh_quietly(sid, notice=f"Block worker by {mention(user_id)} failed: {escape(str(e))}")
            raise
        return Outcome(f"Blocked {escape(name or row.worker_id)}. The submission is still open for review.")

    def block(self, worker_id: str | None, user_id: str, *, worker_name: str | None = None, target: str | None = None) -> None:
        """Block a worker upstream, record who did it, update their open messages."""
        if not worker_id:
            raise UserError("This submission has no worker id, so the worker cannot be blocked.")
        try:
            self.s.rw.block_worker(worker_id)
        except BadRequest as e:
            if "already blocked" not in (e.error or str(e)).lower():
                audit_store.audit(self.db, user_id, "block", target or worker_id, "failed", str(e))
                raise UserError(f"RapidWorkers refused to block the worker: {e}") from None
        except RapidWorkersError as e:
            audit_store.audit(self.db, user_id, "block", target or worker_id, "failed", str(e))
            raise UserError(f"Could not block the worker: {e}") from None
        block_store.record_block(self.db, str(worker_id), worker_name, user_id)
        audit_store.audit(self.db, user_id, "block", target or str(worker_id), "blocked", f"worker {worker_id}")
        metrics.decided("block", "blocked")
        self.refresh_worker(str(worker_id))

    def unblock(self, worker_id: str, user_id: str) -> None:
        try:
            self.s.rw.unblock_worker(worker_id)
        except BadRequest as e:
            if "not blocked" not in (e.error or str(e)).lower():
                audit_store.audit(self.db, user_id, "unblock", worker_id, "failed", str(e))
                raise UserError(f"RapidWorkers refused to unblock the worker: {e}") from None
        except RapidWorkersError as e:
            audit_store.audit(self.db, user_id, "unblock", worker_id, "failed", str(e))
            raise UserError(f"Could not unblock the worker: {e}") from None
        block_store.remove_block(self.db, str(worker_id))
        audit_store.audit(self.db, user_id, "unblock", str(worker_id), "unblocked")
        self.refresh_worker(str(worker_id))

    def refresh_worker(self, worker_id: str) -> None:
        self.cards.refresh_worker(worker_id)

    def approve_in_bulk(self, campaign_id: str, submission: Submission, pay: Decimal, title: str, user_id: str) -> Decimal | None:
        """One submission of an approve-all, through the same decided-once guard as a click.

        Returns what was paid, or None when someone else decided (or is deciding) it
        first. A failed call leaves it as it was and raises; it is never retried here.
        """
        sid = submission.id
        data = submission.to_dict()
        data["pay"] = str(pay)
        data["campaign_title"] = data.get("campaign_title") or title
        if not subs.begin_bulk_approval(self.db, sid, campaign_id, submission.worker_id, data, user_id):
            return None
        try:
            decision = self.s.rw.approve(campaign_id, sid)
        except BadRequest as e:
            subs.undo_bulk_approval(self.db, sid)
            if "already processed" in (e.error or str(e)).lower():
                return None  # decided on RapidWorkers meanwhile; the next sync shows how
            audit_store.audit(self.db, user_id, "approve", str(sid), "failed", f"approve-all: {e}"[:300])
            raise
        except Exception as e:
            subs.undo_bulk_approval(self.db, sid)
            audit_store.audit(self.db, user_id, "approve", str(sid), "failed", f"approve-all: {e}"[:300])
            raise
        amount = decision.amount_paid if decision.amount_paid is not None else pay
        subs.finish_decision(self.db, sid, "approved", decided_by=user_id, amount_paid=str(amount), via="bulk")
        audit_store.audit(self.db, user_id, "approve", str(sid), "approved", "approve-all", str(amount))
        metrics.decided("approve", "approved")  # spent: counted once for the whole approve-all (bot.spending)
        self._refresh_quietly(sid)
        return amount
