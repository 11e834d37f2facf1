"""Spend offers, for any feature that spends (a spend is a spend): the one state machine.

An offer is a `confirmations` row (random id, CONFIRM_MINUTES to live); its
Confirm button carries that id and nothing else, so what runs always comes
from the DB. Confirm takes the row atomically (offered -> executing): once,
only by the user who asked, only before it expires, only within the daily
limit (SpendingRules.take). When the requester's day would pass
GIGDESK_SECOND_APPROVAL_ABOVE, their Confirm only asks (offered -> awaiting_second, posted in the
review channel) and a second, different spender's Confirm takes it.

`execute` runs a taken offer and records what it came to, so no feature writes an offer's
row itself: done (Spent), partly done or unknown (Spent(certain=False), or an error that may have
reached the API: a 5xx or a timeout, never retried behind the user's back), nothing spent
(NothingSpent, or an error that certainly did not take effect: the offer stands again and Confirm
may be clicked again) or withdrawn (Withdrawn: the offer cannot run and is cancelled). `replace`
swaps a standing offer for a changed one (cancelled atomically first), `cancel` is the Cancel
button; an expired offer is refused by `confirm` (`unusable` says why).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.observability import metrics
from bot.slack.mrkdwn import escape, mention
from bot.spending.rules import SECOND_APPROVAL_HOURS, SpendingRules, SpendTerms, cents
from storage import audit as audit_store
from storage import offers as offer_store
from storage.db import utcnow
from storage.rows import Offer

if TYPE_CHECKING:
    from bot.services import Services
    from storage.db import Database

S = TypeVar("S", bound="Spent")

CONFIRM_MINUTES = 10
CONFIRMATION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass
class Spent:
    """What running a taken offer spent: `result` is stored with the offer.

    `certain=False`: partly done, or it may have spent more than `amount` (a money call failed in
    a way that may have taken effect): the offer is closed as failed and never retried."""

    amount: Decimal
    result: dict[str, Any] = field(default_factory=dict)
    certain: bool = True


class NothingSpent(Exception):
    """Raised by a spend that certainly spent nothing: the offer stands again (Confirm may be clicked again)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Withdrawn(Exception):
    """Raised by a spend that must not run at all (e.g. an offer made before an upgrade): it is cancelled."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Decision:
    """What a Confirm click came to: `taken` (run it now), else a message to show.

    `replace`: the message replaces the clicked one (a second approval was asked)."""

    taken: Offer | None = None
    message: str | None = None
    replace: bool = False


class SpendOffers:
    """Offer, Confirm and Cancel of one feature's spends, over SpendingRules.

    `actions`: the offer actions (confirmations.action) the feature owns, each with the name it
    is audited under; a Confirm or Cancel naming another feature's offer is refused.
    `check_hint`: where to look when the outcome of a failed spend is unknown ("`/wonolo requests`")."""

    def __init__(self, services: Services, rules: SpendingRules, *, actions: dict[str, str], check_hint: str):
        self.s = services
        self.rules = rules
        self.actions = actions
        self.check_hint = check_hint

    def label(self, row: Offer) -> str:
        """The audit action of an offer row."""
        return self.actions.get(row.action, row.action)

    @property
    def db(self) -> Database:
        return self.s.store.db

    # -- offer -----------------------------------------------------------------------

    def terms(self, user_id: str, cost: Decimal) -> SpendTerms:
        return self.rules.terms(user_id, cost)

    def create(self, user_id: str, action: str, params: dict, cost: Decimal, *, what: str, target: str | None) -> str:
        """Record the offer (audited); returns the confirmation id its buttons carry."""
        confirmation_id = secrets.token_urlsafe(18)
        expires = (datetime.now(UTC) + timedelta(minutes=CONFIRM_MINUTES)).isoformat(timespec="microseconds")
        offer_store.create_confirmation(self.db, confirmation_id, user_id, action, {**params, "summary": what}, str(cost), expires)
        audit_store.audit(self.db, user_id, self.actions[action], target, "offered", f"confirmation {confirmation_id[:8]}", str(cost))
        return confirmation_id

    def row(self, confirmation_id: object) -> Offer | None:
        """The feature's offer a button names (None: malformed, unknown or another feature's)."""
        if not isinstance(confirmation_id, str) or not CONFIRMATION_ID_RE.match(confirmation_id):
            return None
        row = offer_store.get_confirmation(self.db, confirmation_id)
        return row if row is not None and row.action in self.actions else None

    # -- why an offer cannot be used ----------------------------------------------------------

    def unusable(self, row: Offer | None, now: str) -> str:
        if row is None:
            return "This offer does not exist (any more). Run the command again."
        state = row.state
        if state == "awaiting_second" and row.expires_at <= now:
            return f"This request waited {SECOND_APPROVAL_HOURS} hours for a second spender and expired. Nothing was spent."
        if state == "offered" and row.expires_at <= now:
            return f"This offer expired (offers last {CONFIRM_MINUTES} minutes). Nothing was spent; run the command again."
        if state == "awaiting_second":
            return f"This already waits for a second spender's Confirm (asked by {mention(row.user_id)})."
        if state == "executing":
            return "This is already being carried out; wait for the result."
        if state == "done":
            return "This offer was already confirmed and carried out; nothing more was spent."
        if state == "cancelled":
            return "This offer was cancelled. Run the command again if you still want it."
        if state == "failed":
            return f"This offer was already used and failed. Check {self.check_hint} before trying again."
        return "This offer cannot be used any more."

    @staticmethod
    def waiting_state(row: Offer) -> str:
        """Where an offer goes back to when nothing was spent: awaiting_second once a second approval was asked."""
        return "awaiting_second" if row.asked_at else "offered"

    # -- confirm ---------------------------------------------------------------------------

    def confirm(self, confirmation_id: object, user_id: str, *,
                second_request: Callable[[Offer], tuple[str, list[dict]]]) -> Decision:
        """A Confirm click: refuse, ask a second spender, or take the offer for execution.

        `second_request(row)`: the (text, blocks) posted in the review channel to ask for a second approval."""
        now = utcnow()
        row = self.row(confirmation_id)
        if row is None:
            audit_store.audit(self.db, user_id, "confirm", None, "refused", "unknown confirmation")
            return Decision(message=self.unusable(None, now))
        action, target = self.label(row), row.id[:8]
        if row.state == "awaiting_second":
            if user_id == row.user_id:
                audit_store.audit(self.db, user_id, action, target, "refused", "second approval by the requester", row.cost)
                return Decision(message="You asked for this: a second, different spender must confirm it.")
            if not self.s.permissions.may_spend(user_id):
                audit_store.audit(self.db, user_id, action, target, "refused", "not a spender", row.cost)
                return Decision(message=self.rules.not_a_spender(user_id, "confirm spending"))
            return self._take(row, user_id, now, action, from_state="awaiting_second", second_by=user_id)
        if row.user_id != user_id:
            audit_store.audit(self.db, user_id, action, target, "refused", "not the user who asked", row.cost)
            return Decision(message=f"Only {mention(row.user_id)}, who asked for this, can confirm it.")
        if not self.s.permissions.may_spend(user_id):
            audit_store.audit(self.db, user_id, action, target, "refused", "not a spender", row.cost)
            return Decision(message=self.rules.not_a_spender(user_id, "spend money"))
        return self._take(row, user_id, now, action, second_request=second_request)

    def _take(self, row: Offer, user_id: str, now: str, action: str, *, from_state: str = "offered",
              second_by: str | None = None, second_request: Callable[[Offer], tuple[str, list[dict]]] | None = None) -> Decision:
        target = row.id[:8]
        taken = self.rules.take(row, now, from_state=from_state, second_by=second_by)
        if taken == "needs-second" and second_request is not None:
            return self._ask_second(row, user_id, now, action, second_request)
        if taken == "over-limit":
            audit_store.audit(self.db, user_id, action, target, "refused", "over the daily spend limit", row.cost)
            return Decision(message=self.rules.over_limit_message(row))
        if taken != "taken":
            message = self.unusable(offer_store.get_confirmation(self.db, row.id), now)
            audit_store.audit(self.db, user_id, action, target, "refused", message[:200], row.cost)
            return Decision(message=message)
        if second_by:
            audit_store.audit(self.db, user_id, action, target, "second-approved", f"requested by {row.user_id}", row.cost)
        return Decision(taken=replace(row, second_by=second_by))

    def _ask_second(self, row: Offer, user_id: str, now: str, action: str,
                    second_request: Callable[[Offer], tuple[str, list[dict]]]) -> Decision:
        cid = row.id
        expires = (datetime.now(UTC) + timedelta(hours=SECOND_APPROVAL_HOURS)).isoformat(timespec="microseconds")
        if not offer_store.request_second_approval(self.db, cid, now, expires):
            message = self.unusable(offer_store.get_confirmation(self.db, cid), now)
            audit_store.audit(self.db, user_id, action, cid[:8], "refused", message[:200], row.cost)
            return Decision(message=message)
        channel = self.s.settings.review_channel or ""  # serving always has one (bot.config)
        text, blocks = second_request(row)
        try:
            self.s.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            offer_store.withdraw_second_request(self.db, cid)
            audit_store.audit(self.db, user_id, action, cid[:8], "failed", f"could not ask for a second approval: {e.response.get('error')}", row.cost)
            return Decision(message=f"I could not post the request for a second approval (Slack said {escape(str(e.response.get('error')))}). "
                                    "Nothing was spent; click Confirm again.")
        audit_store.audit(self.db, user_id, action, cid[:8], "second-approval-requested", f"posted in {channel}", row.cost)
        why = self.rules.second_approval_line(row.user_id, row.cost or "0")
        return Decision(message=f":hourglass_flowing_sand: Requested. {why}, a second spender must confirm: I asked in "
                                f"<#{channel}>. Nothing is spent until another spender clicks Confirm there.",
                        replace=True)

    # -- running a taken offer ------------------------------------------------------------------

    def execute(self, row: Offer, user_id: str, spend: Callable[[Offer], S], *,
                known: tuple[type[Exception], ...], not_applied: Callable[[Exception], bool]) -> S:
        """Run `spend(row)` for an offer Confirm took, and record what it came to.

        Spent: done, or (certain=False) failed with what was spent. NothingSpent, or a `known` error
        for which `not_applied(e)` holds: the offer stands again. Withdrawn: cancelled. Any other
        error: closed as failed (it may have spent), never retried. Errors are raised on for the
        feature to explain."""
        try:
            spent = spend(row)
        except NothingSpent as e:
            self.back_to_waiting(row, user_id, e.reason)
            raise
        except Withdrawn as e:
            offer_store.finish_confirmation(self.db, row.id, "cancelled", {"reason": e.reason[:300]})
            audit_store.audit(self.db, user_id, self.label(row), row.id[:8], "withdrawn", e.reason[:300], row.cost)
            raise
        except Exception as e:
            self._failed(row, user_id, e, known=known, not_applied=not_applied)
            raise
        self.finish(row, spent)
        return spent

    def _failed(self, row: Offer, user_id: str, e: Exception, *,
                known: tuple[type[Exception], ...], not_applied: Callable[[Exception], bool]) -> None:
        if isinstance(e, UserError) and not isinstance(e, known):  # refused before any money call
            self.back_to_waiting(row, user_id, str(e))
        elif not isinstance(e, known):
            self.finish_unknown(row, user_id, "unexpected error")
        elif not_applied(e):
            self.back_to_waiting(row, user_id, str(e))
        else:
            self.finish_unknown(row, user_id, str(e))

    def finish(self, row: Offer, spent: Spent) -> None:
        """Record what a taken offer spent: done, or failed when partly done or uncertain (the one
        place a spend's amount is written, and counted in gigdesk_spent_cents_total)."""
        offer_store.finish_confirmation(self.db, row.id, "done" if spent.certain else "failed", spent.result,
                                        spent_cents=cents(spent.amount))
        metrics.offer_spent(row.action, cents(spent.amount))

    def replace(self, confirmation_id: object, user_id: str, *, fits: Callable[[Offer], bool],
                check: Callable[[Offer], None] | None = None, why: str = "replaced") -> Offer:
        """Cancel a standing offer so that a changed one (made by the caller) takes its place; audited.

        Only the requester, only an offer this feature made that `fits`, only while it stands
        (offered, not expired); `check(row)` may refuse further (raise). Refusals raise UserError."""
        now = utcnow()
        row = self.row(confirmation_id)
        if row is None or not fits(row):
            raise UserError(self.unusable(None, now))
        if row.user_id != user_id:
            raise UserError(f"Only {mention(row.user_id)}, who asked for this, can change it.")
        if check is not None:
            check(row)
        if row.state != "offered" or row.expires_at <= now or not offer_store.cancel_confirmation(self.db, row.id):
            raise UserError(self.unusable(offer_store.get_confirmation(self.db, row.id), now))
        audit_store.audit(self.db, user_id, self.label(row), row.id[:8], why, "offer replaced", row.cost)
        return row

    # -- after running a taken offer (the steps of execute; /wonolo book calls them itself) --------

    def finish_done(self, row: Offer, result: dict, spent: Decimal) -> None:
        self.finish(row, Spent(amount=spent, result=result))

    def back_to_waiting(self, row: Offer, user_id: str, reason: str) -> None:
        """Nothing was spent: the offer stands again and Confirm may be clicked again."""
        offer_store.finish_confirmation(self.db, row.id, self.waiting_state(row))
        audit_store.audit(self.db, user_id, self.label(row), row.id[:8], "failed-not-applied", reason[:300], row.cost)

    def finish_unknown(self, row: Offer, user_id: str, reason: str) -> None:
        """A 5xx or a timeout: it may have happened. The offer is closed; nothing retries it."""
        offer_store.finish_confirmation(self.db, row.id, "failed", {"error": reason[:300]})
        audit_store.audit(self.db, user_id, self.label(row), row.id[:8], "failed-unknown", reason[:300], row.cost)

    # -- cancel ---------------------------------------------------------------------------------

    def cancel(self, confirmation_id: object, user_id: str) -> tuple[bool, str]:
        """Cancel: the requester; a request waiting for a second approval may also be declined by
        another spender. (done, message)."""
        now = utcnow()
        row = self.row(confirmation_id)
        if row is None:
            return False, self.unusable(None, now)
        action = self.label(row)
        declining = row.state == "awaiting_second" and row.user_id != user_id and self.s.permissions.may_spend(user_id)
        if row.user_id != user_id and not declining:
            audit_store.audit(self.db, user_id, action, row.id[:8], "refused", "not the user who asked", row.cost)
            return False, f"Only {mention(row.user_id)}, who asked for this, can cancel it."
        if offer_store.cancel_confirmation(self.db, row.id):
            audit_store.audit(self.db, user_id, action, row.id[:8], "declined" if declining else "cancelled", None, row.cost)
            who = f" by {mention(user_id)}" if row.state == "awaiting_second" else ""
            return True, f":heavy_multiplication_x: Cancelled{who}. Nothing was spent."
        return False, self.unusable(offer_store.get_confirmation(self.db, row.id), now)
