"""/rw's spends on top of bot.spending: an offer with its cost and balance, Confirm, Cancel.

Jobs (bot.rw.jobs) and approve-all (bot.rw.approve_all) each make their offers through
`RwSpends.offer` and register how a taken offer of theirs runs (`executors`); the offer's row is
written only by bot.spending (SpendOffers.execute records what a run came to).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.rapidworkers.client import RapidWorkersError
from bot.rw import blocks as ui
from bot.rw.images import CampaignImages, Image
from bot.rw.replies import certainly_not_applied, explain, problem, reply
from bot.slack.mrkdwn import escape, mention
from bot.slack.replies import Reply
from bot.spending.offers import CONFIRM_MINUTES, NothingSpent, S, SpendOffers, Spent, Withdrawn
from bot.spending.rules import SECOND_APPROVAL_HOURS, SpendingRules
from storage import audit as audit_store
from storage.rows import Offer

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("gigdesk.commands")

ACTION_LABEL = {"prefilled": "job-prefilled", "custom": "job-custom", "approve-all": "approve-all"}
CREATING = ("prefilled", "custom")

Progress = Callable[[Reply], None] | None
Executor = Callable[[Offer, str, Progress], Reply]


def _not_applied(e: Exception) -> bool:
    return isinstance(e, RapidWorkersError) and certainly_not_applied(e)


class RwSpends:
    """Offer, Confirm and Cancel of /rw's spends (job creation, approve-all)."""

    def __init__(self, services: Services, images: CampaignImages):
        self.s = services
        self.images = images
        self.rules = SpendingRules(services)
        self.offers = SpendOffers(services, self.rules, actions=ACTION_LABEL, check_hint="`/rw campaigns`")
        self.executors: dict[str, Executor] = {}  # offer action -> how a taken offer of it runs

    @property
    def db(self):
        return self.s.store.db

    # -- offer ------------------------------------------------------------------------------

    def offer(self, user_id: str, action: str, params: dict, cost: Decimal, *, what: str, target: str | None,
              estimate: bool = False, cost_note: str | None = None, image: Image | None = None, confirmable: bool = True,
              include_flagged: int = 0) -> Reply:
        """What will happen, the cost, the balance before and after, Confirm / Cancel (refused
        when the balance is short or the daily limit would be passed)."""
        audit_action = ACTION_LABEL[action]
        balance = self.s.rw.get_balance()
        if balance < cost:
            audit_store.audit(self.db, user_id, audit_action, target, "refused", f"insufficient balance {balance}", str(cost))
            return reply(ui.spend_insufficient(what=what, cost=cost, balance=balance, estimate=estimate, cost_note=cost_note))
        terms = self.rules.terms(user_id, cost)
        if terms.refusal and confirmable:
            audit_store.audit(self.db, user_id, audit_action, target, "refused", "over the daily spend limit", str(cost))
            return reply(ui.spend_refused(what=what, cost=cost, balance=balance, estimate=estimate, cost_note=cost_note,
                                          reason=terms.refusal, terms=terms.lines))
        confirmation_id = self.offers.create(user_id, action, params, cost, what=what, target=target)
        if image is not None:
            self.images.keep(confirmation_id, image)
        return reply(ui.spend_offer(what=what, cost=cost, balance=balance, estimate=estimate,
                                    confirmation_id=confirmation_id, cost_note=cost_note, minutes=CONFIRM_MINUTES,
                                    terms=terms.lines, confirmable=confirmable, include_flagged=include_flagged))

    # -- confirm / cancel ---------------------------------------------------------------------

    def confirm(self, confirmation_id: str, user_id: str, progress: Progress = None) -> Reply:
        """The Confirm button: take the offer once (within the limits: bot.spending.offers), then run it.

        `progress(Reply)`, if given, shows how a long bulk approval is going."""
        settings = self.s.settings

        def second_request(row: Offer) -> tuple[str, list[dict]]:
            return ui.second_approval_request(
                requester=row.user_id, what=row.params.get("summary") or self.offers.label(row), cost=row.cost_amount,
                threshold=settings.second_approval_above, confirmation_id=row.id, hours=SECOND_APPROVAL_HOURS)

        decision = self.offers.confirm(confirmation_id, user_id, second_request=second_request)
        if decision.taken is None:
            message = decision.message or "This offer cannot be used any more."
            return Reply(message, None, replace_original=True) if decision.replace else problem(message)
        return self._run_taken(decision.taken, user_id, progress)

    def execute(self, row: Offer, user_id: str, spend: Callable[[Offer], S]) -> S:
        """Run a taken offer's money calls through bot.spending, which records what they came to."""
        return self.offers.execute(row, user_id, spend, known=(RapidWorkersError,), not_applied=_not_applied)

    def _run_taken(self, row: Offer, user_id: str, progress: Progress) -> Reply:
        """Carry out an offer that Confirm took (state executing); explain a failure."""
        executor = self.executors.get(row.action, self._unknown)
        try:
            return executor(row, user_id, progress)
        except NothingSpent as e:
            return problem(f"{e.reason} Nothing was spent; the offer above still stands.")
        except Withdrawn as e:
            return problem(e.reason)
        except RapidWorkersError as e:
            return self._money_failed(row, e)
        except UserError as e:  # before the money call (e.g. the image could not be read)
            return problem(f"{e} Nothing was spent; you can click Confirm again.")

    def _unknown(self, row: Offer, user_id: str, progress: Progress) -> Reply:
        spent = self.execute(row, user_id, _unknown_kind)  # raises Withdrawn
        return problem(f"Nothing happened ({spent.amount}).")

    def _money_failed(self, row: Offer, e: RapidWorkersError) -> Reply:
        creating = row.action in CREATING
        reason = explain(e, creating=creating)
        if certainly_not_applied(e):
            return problem(f"{reason} Nothing was spent; the offer above still stands.")
        self.images.drop(row.id)
        if creating:
            check = "The job may or may not have been created: check `/rw campaigns` before trying again."
        else:
            check = (f"Some or all submissions may have been approved: check `/rw campaign {escape(row.params['campaign_id'])}` "
                     "before trying again.")
        return Reply(f":warning: {reason} {check} I will not retry on my own.", None, replace_original=True)

    def cancel(self, confirmation_id: str, user_id: str) -> Reply:
        """Cancel: the requester; a request waiting for a second approval may also be declined by another spender."""
        done, message = self.offers.cancel(confirmation_id, user_id)
        if not done:
            return problem(message)
        self.images.drop(confirmation_id)
        return Reply(message, None, replace_original=True)

    # -- after a spend ----------------------------------------------------------------------------

    def announce(self, text: str) -> None:
        """Tell the review channel what was spent (a failure to post is logged, never raised)."""
        try:
            self.s.slack.chat_postMessage(channel=self.s.settings.review_channel or "", text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            log.warning("could not post the spend notice: %s", e.response.get("error"))
        except Exception:
            log.exception("could not post the spend notice")

    @staticmethod
    def who(row: Offer) -> str:
        """Who spent: the requester, and the second spender who confirmed, if any."""
        second = row.second_by
        return mention(row.user_id) + (f" (second approval: {mention(second)})" if second else "")

    @staticmethod
    def asked_and_confirmed(row: Offer) -> list[str]:
        """The result's line naming both spenders when a second approval was given."""
        return [f"asked by {mention(row.user_id)}, confirmed by {mention(row.second_by)}"] if row.second_by else []

    def balance_after(self, reported: Decimal | None) -> Decimal | None:
        if reported is not None:
            return reported
        try:
            return self.s.rw.get_balance()
        except RapidWorkersError:
            return None


def _unknown_kind(row: Offer) -> Spent:
    raise Withdrawn("This offer is of a kind I do not know; nothing was spent.")
