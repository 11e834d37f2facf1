"""Who may spend, and the spending limits: each rule once.

* Spending (job creation, approve-all, Wonolo booking) needs GIGDESK_SPENDERS, which defaults to
  GIGDESK_ALLOWED_USERS. Membership of the review channel never grants it; with
  neither set nobody may spend (bot.permissions: Permissions.may_spend).
* GIGDESK_DAILY_SPEND_LIMIT: what one requester may spend per day, the day
  counted in GIGDESK_TZ. Checked and reserved in one SQLite write transaction at
  Confirm (storage.offers.take_confirmation), so concurrent Confirms cannot
  both pass; the reservation becomes what was really spent when it finishes.
* GIGDESK_SECOND_APPROVAL_ABOVE: about a person's day, not one offer. A spend that takes the
  requester's total confirmed today (in GIGDESK_TZ) above it runs only after a second,
  different spender confirms it too, so two $20 offers need one where a $40 one does; exactly
  the threshold does not. Checked at Confirm in the same transaction as the daily limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from bot.permissions import refuse
from bot.slack.mrkdwn import mention, money
from storage import offers as offer_store
from storage.rows import Offer

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services
    from storage.db import Database

SECOND_APPROVAL_HOURS = 24  # how long a request waits for a second spender


def cents(amount: Decimal | str) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def local_day(tz: tzinfo, now: datetime | None = None) -> tuple[str, str]:
    """[start, end) of the current day in `tz`, as UTC ISO text comparable with storage timestamps."""
    now = (now or datetime.now(UTC)).astimezone(tz)
    start = datetime.combine(now.date(), time(0), tzinfo=tz)
    end = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=tz)

    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat(timespec="microseconds")

    return utc(start), utc(end)


@dataclass
class SpendTerms:
    """What the offer says about the spending rules, and whether it may be confirmed at all."""

    lines: list[str] = field(default_factory=list)
    refusal: str | None = None
    needs_second: bool = False


class SpendingRules:
    """The spending rules applied to one Services."""

    def __init__(self, services: Services):
        self.s = services

    @property
    def settings(self) -> Settings:
        return self.s.settings

    @property
    def db(self) -> Database:
        return self.s.store.db

    # -- who -----------------------------------------------------------------------

    def not_a_spender(self, user_id: str, what: str) -> str:
        """Why this user may not spend, and how an admin enables it."""
        if not self.settings.spenders:
            return (f"You are not allowed to {what}: nobody may spend money yet. An admin enables spending by "
                    "setting GIGDESK_SPENDERS (or GIGDESK_ALLOWED_USERS) to the Slack user IDs of the people who may spend.")
        return (f"You are not allowed to {what}: only the people in GIGDESK_SPENDERS may spend money. "
                f"Ask an admin to add your user ID `{user_id}`.")

    def require_spender(self, user_id: str, action: str, target: str | None, what: str) -> None:
        """Refuse (audited) unless the user may spend."""
        if not self.s.permissions.may_spend(user_id):
            raise refuse(self.s, user_id, action, target, self.not_a_spender(user_id, what), reason="not a spender")

    # -- limits ----------------------------------------------------------------------

    def needs_second_approval(self, user_id: str, cost: Decimal | str) -> bool:
        """Whether the requester's spends today plus this one pass GIGDESK_SECOND_APPROVAL_ABOVE
        (as the offer shows it; Confirm decides in one transaction: take)."""
        above = self.settings.second_approval_above
        return above is not None and self.spent_today(user_id) + Decimal(str(cost)) > above

    def spent_today(self, user_id: str) -> Decimal:
        return Decimal(offer_store.spent_cents(self.db, user_id, local_day(self.settings.tz))) / 100

    def terms(self, user_id: str, cost: Decimal) -> SpendTerms:
        """The daily limit (spent, left) and any second approval, for the offer."""
        terms = SpendTerms()
        limit = self.settings.daily_spend_limit
        if limit is not None:
            spent = self.spent_today(user_id)
            left = max(Decimal("0"), limit - spent)
            terms.lines.append(f"Daily limit {money(limit)} per person: {money(spent)} spent today, {money(left)} left.")
            if cost > left:
                terms.refusal = (f"This would go over your daily spending limit: it costs {money(cost)} and you have "
                                 f"{money(left)} of {money(limit)} left today. Nothing was spent.")
        if self.needs_second_approval(user_id, cost):
            terms.needs_second = True
            terms.lines.append(self.second_approval_line(user_id, cost) + ": after your Confirm, a second, "
                               "different spender must confirm too before anything is spent.")
        return terms

    def second_approval_line(self, user_id: str, cost: Decimal | str) -> str:
        """Why a second spender is needed: the day's total against the threshold."""
        above, spent = self.settings.second_approval_above, self.spent_today(user_id)
        if not spent:
            return f"Above {money(above)} a day"
        return (f"With the {money(spent)} spent today this comes to {money(spent + Decimal(str(cost)))}, "
                f"above {money(above)} a day")

    def take(self, row: Offer, now: str, *, from_state: str = "offered", second_by: str | None = None) -> str:
        """Take the offer for execution within the requester's daily limit and, unless a second
        spender is confirming it, within the second-approval threshold (atomic):
        taken | gone | over-limit | needs-second."""
        limit, above = self.settings.daily_spend_limit, self.settings.second_approval_above
        return offer_store.take_confirmation(
            self.db, row.id, now,
            from_state=from_state,
            cost_cents=cents(row.cost or "0"),
            second_by=second_by,
            daily_limit_cents=cents(limit) if limit is not None else None,
            second_above_cents=cents(above) if above is not None and second_by is None else None,
            day=local_day(self.settings.tz),
        )

    def over_limit_message(self, row: Offer) -> str:
        limit = self.settings.daily_spend_limit
        spent = self.spent_today(row.user_id)
        return (f"This would go over the daily spending limit of {money(limit)} for {mention(row.user_id)}: "
                f"{money(spent)} already spent today, this costs {money(row.cost)}. Nothing was spent.")
