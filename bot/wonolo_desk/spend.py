"""The booking's spend, through bot.spending: every call the Wonolo desk makes into it is here.

Who may spend, the offer (terms, limits), Confirm (once, same user or a second
spender, before expiry), the run of a taken offer with its three endings, and
Cancel. bot.spending owns the state machine; this module only names the Wonolo
offer action and which Wonolo failures certainly booked nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.slack import ids
from bot.spending.offers import CONFIRM_MINUTES, Decision, SpendOffers
from bot.spending.rules import SECOND_APPROVAL_HOURS, SpendingRules
from bot.wonolo.client import WonoloError, WonoloForbidden, WonoloInvalid, WonoloNotFound, WonoloUnauthorized
from storage import audit as audit_store
from storage.rows import Offer

__all__ = ["CONFIRM_MINUTES", "SECOND_APPROVAL_HOURS", "Booked", "BookingSpend", "Decision", "NotBooked", "Offered",
           "certainly_not_booked"]


def certainly_not_booked(error: WonoloError) -> bool:
    """Wonolo said no (or we never sent it): Confirm may be clicked again. A 5xx, a timeout or an
    answer we cannot read may hide a created request, so those are never retried."""
    if isinstance(error, (WonoloInvalid, WonoloForbidden, WonoloUnauthorized, WonoloNotFound)):
        return True
    return error.status == 429


@dataclass(frozen=True)
class Booked:
    """What Wonolo created: the job request ids, how to name it, and the fee it reported."""

    job_request_ids: list[str]
    reference: str
    fee: object = None


@dataclass(frozen=True)
class Offered:
    """An offer made (confirmation_id set) or refused (`refusal`), with the spending rules' lines."""

    confirmation_id: str | None
    terms: list[str]
    refusal: str | None = None


class NotBooked(Exception):
    """Wonolo certainly booked nothing: the offer stands again (`still_stands`), or its outcome
    is unknown and it is closed (never retried behind the user's back)."""

    def __init__(self, error: WonoloError, *, still_stands: bool):
        super().__init__(str(error))
        self.error = error
        self.still_stands = still_stands


class BookingSpend:
    """The Wonolo booking's offers (confirmations.action = ids.WONOLO_BOOK)."""

    def __init__(self, services: Any):
        self.db_of = lambda: services.store.db
        self.rules = SpendingRules(services)
        self.offers = SpendOffers(services, self.rules, actions={ids.WONOLO_BOOK: ids.WONOLO_BOOK},
                                  check_hint="`/wonolo requests`")

    def require_spender(self, user_id: str, target: str | None) -> None:
        self.rules.require_spender(user_id, ids.WONOLO_BOOK, target, "book Wonolo shifts")

    def offer(self, user_id: str, params: dict, cost: Decimal, *, what: str) -> Offered:
        """Record the offer, or refuse it (over the daily limit: audited)."""
        terms = self.offers.terms(user_id, cost)
        if terms.refusal:
            audit_store.audit(self.db_of(), user_id, ids.WONOLO_BOOK, None, "refused", "over the daily spend limit", str(cost))
            return Offered(None, terms.lines, terms.refusal)
        return Offered(self.offers.create(user_id, ids.WONOLO_BOOK, params, cost, what=what, target=None), terms.lines)

    def confirm(self, confirmation_id: object, user_id: str,
                second_request: Callable[[Offer], tuple[str, list[dict]]]) -> Decision:
        return self.offers.confirm(confirmation_id, user_id, second_request=second_request)

    def execute(self, row: Offer, user_id: str, book: Callable[[], Booked]) -> Booked:
        """Run a taken offer: `book()` makes the one POST and says what it created.
        Raises NotBooked when Wonolo failed (the offer stands again or is closed as unknown)."""
        try:
            created = book()
        except WonoloError as e:
            if certainly_not_booked(e):
                self.offers.back_to_waiting(row, user_id, str(e))
                raise NotBooked(e, still_stands=True) from None
            self.offers.finish_unknown(row, user_id, str(e))
            raise NotBooked(e, still_stands=False) from None
        except Exception:
            self.offers.finish_unknown(row, user_id, "unexpected error")
            raise
        self.offers.finish_done(row, {"job_request_ids": created.job_request_ids}, row.cost_amount)
        return created

    def cancel(self, confirmation_id: object, user_id: str) -> tuple[bool, str]:
        return self.offers.cancel(confirmation_id, user_id)
