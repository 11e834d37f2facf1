"""Booking Wonolo shifts from Slack: `/wonolo book` and Book again, the offer, Confirm, the result.

The form (bot.wonolo_desk.booking_form) is checked before anything is offered; the
offer shows the estimated cost and the spending rules; Confirm makes exactly one
POST to Wonolo, never retried behind the user's back (bot.wonolo_desk.spend). Every
booking is told in the review channel, and the confirmation links to the new card.

Book again copies a request that is past recruiting (filled, worked, cancelled,
expired unfilled), from its card, a `/wonolo requests` row or `/wonolo request <id>`;
it only fills in the form, so nothing is spent before the new offer's own Confirm.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.apiclient.fields import is_safe_id
from bot.errors import UserError
from bot.slack import ids
from bot.slack.mrkdwn import escape, mention, money
from bot.slack.replies import Reply
from bot.wonolo.client import WonoloError, WonoloNotFound
from bot.wonolo_desk import blocks as ui
from bot.wonolo_desk import booking_blocks
from bot.wonolo_desk.booking_form import Booking, parse_view
from bot.wonolo_desk.cards import Cards
from bot.wonolo_desk.claims import Claims
from bot.wonolo_desk.common import describe, refresh_quietly
from bot.wonolo_desk.spend import CONFIRM_MINUTES, SECOND_APPROVAL_HOURS, Booked, BookingSpend, NotBooked
from storage.rows import Offer

log = logging.getLogger("gigdesk.wonolo.desk")


class Bookings:
    """The booking modal, its offer, Confirm and Cancel."""

    def __init__(self, *, client: Any, slack: Any, settings: Any, cards: Cards, claims: Claims, spend: BookingSpend):
        self.client = client
        self.slack = slack
        self.settings = settings
        self.cards = cards
        self.claims = claims
        self.spend = spend

    # ------------------------------------------------------------------ the modal

    def book_view(self, user_id: str) -> dict:
        """The empty booking modal, for a spender (SQLite only: it opens within the trigger's 3 s)."""
        self.spend.require_spender(user_id, None)
        return booking_blocks.book_modal()

    def book_again_view(self, value: object, user_id: str) -> dict:
        """Book again: the modal, filled in after the open (book_form). A request with a card is
        checked against the state the card shows; another (a list row) when it is fetched."""
        key = value if isinstance(value, str) and is_safe_id(value) else None
        if key is None:
            raise UserError("That button does not belong to a Wonolo job request I know.")
        self.spend.require_spender(user_id, key)
        row = self.cards.request_row(key)
        if row is not None and row.get("ts") and not ui.can_book_again(row["state"]):
            raise self.claims.refuse(user_id, ids.WONOLO_BOOK_AGAIN, key, self._not_again(key, row["state"]))
        return booking_blocks.book_modal(booking_blocks.Prefill(source=key))

    @staticmethod
    def _not_again(key: str, state: str | None) -> str:
        return (f"Job request `{escape(key)}` is {ui.state_label(state).lower()}: only a request past recruiting "
                "(filled, completed, cancelled or unfilled) can be booked again.")

    def _copy_of(self, source: str) -> tuple[booking_blocks.Prefill | None, str | None]:
        """(the copied request's fields, or why there are none)."""
        try:
            jr = self.client.get_job_request(source)
        except WonoloNotFound:
            return None, f"No job request with id `{escape(source)}`: fill in the form to book new shifts."
        if not ui.can_book_again(jr.state):
            return None, self._not_again(source, jr.state)
        return booking_blocks.prefill_from_request(jr), None

    def book_form(self, source: str | None) -> dict:
        """The modal with Wonolo's badges and customers as choices and, for Book again, the
        copied request's fields. A look-up that fails only leaves its part out."""
        prefill, problem = self._copy_of(source) if source else (None, None)
        badges = customers = None
        try:
            badges = self.client.list_badges()
        except WonoloError as e:
            log.warning("booking form without badges: %s", describe(e))
        try:
            customers = self.client.list_customers()
        except WonoloError as e:
            log.warning("booking form without customers: %s", describe(e))
        return booking_blocks.book_modal(prefill, badges=badges, customers=customers, problem=problem)

    @staticmethod
    def check_book_view(values: dict) -> tuple[Booking | None, dict[str, str]]:
        """The submitted modal: a Booking, or the errors to show next to each field (pure)."""
        return parse_view(values)

    # ------------------------------------------------------------------ offer, Confirm, Cancel

    def offer_booking(self, b: Booking, user_id: str) -> Reply:
        """Review: the shifts, the estimated cost and the spending rules, with Confirm / Cancel."""
        self.spend.require_spender(user_id, None)
        cost = b.cost()
        offered = self.spend.offer(user_id, b.params(), cost, what=booking_blocks.what(b))
        return Reply(*booking_blocks.offer_message(b, cost, confirmation_id=offered.confirmation_id,
                                                   minutes=CONFIRM_MINUTES, terms=offered.terms,
                                                   refusal=offered.refusal))

    def _second_request(self, row: Offer) -> tuple[str, list[dict]]:
        return booking_blocks.second_approval_request(
            requester=row.user_id, summary=row.params.get("summary") or "a Wonolo booking",
            cost=row.cost_amount, threshold=self.settings.second_approval_above,
            confirmation_id=row.id, hours=SECOND_APPROVAL_HOURS)

    def confirm_booking(self, confirmation_id: object, user_id: str) -> Reply:
        """Confirm: once, same user (or a second spender), before expiry, within the limits; then
        exactly one POST to Wonolo, never retried behind the user's back."""
        decision = self.spend.confirm(confirmation_id, user_id, self._second_request)
        if decision.taken is None:
            text = decision.message or "This offer cannot be used."
            return Reply(text if decision.replace else f":warning: {text}", None, replace_original=decision.replace)
        row = decision.taken
        try:
            booked = self.spend.execute(row, user_id, lambda: self._create(Booking.from_params(row.params)))
        except NotBooked as e:
            reason = escape(str(e.error))
            if e.still_stands:
                return Reply(f":warning: {reason} Nothing was booked; the offer above still stands.")
            return Reply(f":warning: {reason} The request may or may not exist on Wonolo now: check `/wonolo requests` "
                         "before booking again. I will not retry on my own.", None, replace_original=True)
        return self._booked(row, user_id, booked)

    def _create(self, b: Booking) -> Booked:
        """The one POST: a job request, or a multi-day request for several dates."""
        if len(b.dates) > 1:
            created = self.client.create_multi_day_job_request(
                repeat_type=b.repeat_type, repeat_number=len(b.dates), same_workers=False,
                job_request=b.job_request_fields())
            jr_ids = [str(i) for i in created.get("job_request_ids") or [] if i is not None]
            return Booked(jr_ids, f"multi-day request `{escape(created.get('id'))}`", created.get("fee"))
        jr = self.client.create_job_request(**b.job_request_fields())
        return Booked([str(jr.id)] if jr.id is not None else [], f"job request `{escape(jr.id)}`", jr.raw.get("fee"))

    def _booked(self, row: Offer, user_id: str, booked: Booked) -> Reply:
        cost, summary = row.cost_amount, row.params.get("summary", "")
        self.claims.audit(user_id, ids.WONOLO_BOOK, ",".join(booked.job_request_ids)[:200] or "-", "booked",
                          f"{summary[:150]} {cost}")
        second = f" (second approval: {mention(row.second_by)})" if row.second_by else ""
        self._announce(f"{mention(row.user_id)}{second} booked on Wonolo: {summary} — "
                       f"estimated {money(cost)} ({booked.reference}).")
        for key in booked.job_request_ids:
            refresh_quietly(functools.partial(self.cards.sync_request, key), f"job request {key}", log)
        details = [booked.reference.capitalize(), f"estimated cost {money(cost)}"]
        if booked.fee is not None:
            details.append(f"Wonolo's fee {escape(booked.fee)}")
        if row.second_by:
            details.append(f"asked by {mention(row.user_id)}, confirmed by {mention(row.second_by)}")
        link = self.cards.permalink(booked.job_request_ids[0]) if booked.job_request_ids else None
        card = f" <{link}|See its card>." if link else ""
        return Reply(f":white_check_mark: Booked. {' · '.join(details)}.{card}", None, replace_original=True)

    def cancel_booking(self, confirmation_id: object, user_id: str) -> Reply:
        done, message = self.spend.cancel(confirmation_id, user_id)
        return Reply(message if done else f":warning: {message}", None, replace_original=done)

    def _announce(self, text: str) -> None:
        """Every spend is told in the review channel, where the spenders are."""
        try:
            self.slack.chat_postMessage(channel=self.settings.review_channel, text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            log.warning("could not post the booking notice: %s", e.response.get("error"))
