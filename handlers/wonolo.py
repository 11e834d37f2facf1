"""/wonolo (and its list pages), the Wonolo message buttons and their modals.

Thin listeners: ack first (modal submissions: validate, then ack with the
field errors or ack), then hand one call into a part of the Wonolo desk
(bot.wonolo_desk.desk: actions, bookings, command) to the work pool (so a slow Wonolo never delays an ack) and show its answer
ephemerally. Opening a modal stays on the listener thread: Slack's
trigger_id lasts 3 seconds, and the checks before it touch only SQLite.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack import ids
from bot.slack.replies import Reply, send_ephemeral
from bot.slack.trigger import trigger_bound
from bot.wonolo_desk.modals import (
    assign_from_view,
    cancel_reason_from_view,
    job_id_from_metadata,
    job_request_id_from_metadata,
    message_from_view,
)
from handlers.common import action_value, clicked_message
from handlers.errors import after_ack, guarded

NOT_CONFIGURED = "Wonolo is not configured (set WONOLO_API_KEY and WONOLO_SECRET_KEY)."
log = logging.getLogger("gigdesk.handlers")


def _configured(context: BoltContext):
    """The Wonolo desk (bot.features.Features.wonolo_desk); None without Wonolo keys."""
    return context["features"].wonolo_desk


def _desk(context: BoltContext):
    desk = _configured(context)
    if desk is None:
        raise UserError(NOT_CONFIGURED)
    return desk


@guarded
def wonolo_command(ack: Ack, body: dict, command: dict, context: BoltContext):
    ack()
    desk = _configured(context)
    if desk is None:
        send_ephemeral(context, body, NOT_CONFIGURED)
        return
    text, user = command.get("text") or "", context["actor"]
    if text.strip().lower() == "book":
        with trigger_bound():
            _open_booking(context, body, desk.bookings.book_view(user), None)
        return

    def run():
        result = desk.command.run(text, user)
        send_ephemeral(context, body, result)

    after_ack(context, body, run)


def _card_button(call):
    """A button on a job request card: `call(desk, value, user, shown)` on the work pool, its
    message to the clicker (`shown`: the clicked message, which the value must belong to)."""

    @guarded
    def listener(ack: Ack, body: dict, context: BoltContext):
        ack()
        desk, value, user, shown = _desk(context), action_value(body), context["actor"], clicked_message(body)
        after_ack(context, body, lambda: call(desk, value, user, shown).message)

    return listener


resend_notifications = _card_button(lambda desk, value, user, shown: desk.actions.resend_notifications(value, user, message=shown))
rerank_workers = _card_button(lambda desk, value, user, shown: desk.actions.rerank_workers(value, user, message=shown))
cancel_request = _card_button(lambda desk, value, user, shown: desk.actions.cancel_request(value, user, message=shown))
cancel_listed_request = _card_button(lambda desk, value, user, shown: desk.actions.cancel_listed_request(value, user))


@guarded
def turn_page(ack: Ack, body: dict, context: BoltContext):
    """Next / Previous on a /wonolo list: the ephemeral list is replaced by that page."""
    ack()
    desk, value, user = _desk(context), action_value(body), context["actor"]

    def run():
        result = desk.command.page(value, user)
        send_ephemeral(context, body, Reply(result.text, result.blocks, replace_original=True))

    after_ack(context, body, run)


@guarded
def show_details(ack: Ack, body: dict, context: BoltContext):
    """Details on a /wonolo requests row: the request, in a new ephemeral answer."""
    ack()
    desk, value, user = _desk(context), action_value(body), context["actor"]
    after_ack(context, body, lambda: send_ephemeral(context, body, desk.command.details(value, user)))


def _opens_modal(view_for):
    """A button that opens a modal at once (the trigger lasts 3 s): `view_for(desk, value, user, shown)`."""

    @guarded
    def listener(ack: Ack, body: dict, context: BoltContext):
        ack()
        with trigger_bound():  # who may act, then views.open, within the trigger's 3 s
            view = view_for(_desk(context), action_value(body), context["actor"], clicked_message(body))
            context["services"].slack.views_open(trigger_id=body["trigger_id"], view=view)

    return listener


open_assign_worker = _opens_modal(lambda desk, value, user, shown: desk.actions.assign_view(value, user, message=shown))
open_cancel_job = _opens_modal(lambda desk, value, user, shown: desk.actions.cancel_job_view(value, user, message=shown))
open_message_worker = _opens_modal(lambda desk, value, user, shown: desk.actions.message_view(value, user, message=shown))


def _open_booking(context: BoltContext, body: dict, view: dict, source: str | None) -> None:
    """Open the booking modal at once (the trigger lasts 3 s), then fill in what Wonolo knows
    (badges, customers, a copied request) after the ack; a modal already submitted is left alone."""
    desk, slack = _desk(context), context["services"].slack
    opened = slack.views_open(trigger_id=body["trigger_id"], view=view)["view"]

    def fill():
        full = desk.bookings.book_form(source)
        try:
            slack.views_update(view_id=opened["id"], hash=opened.get("hash"), view=full)
        except SlackApiError as e:  # closed, submitted or edited meanwhile
            log.info("booking form not filled in: %s", e.response.get("error"))

    after_ack(context, body, fill)


@guarded
def open_book_again(ack: Ack, body: dict, context: BoltContext):
    ack()
    value = action_value(body)
    with trigger_bound():
        view = _desk(context).bookings.book_again_view(value, context["actor"])
        _open_booking(context, body, view, value)


@guarded
def submit_booking(ack: Ack, body: dict, context: BoltContext, view: dict):
    """Review: field errors stay in the modal (nothing lost, nothing spent); else the offer
    (cost, Confirm / Cancel) is shown ephemerally in the Wonolo channel."""
    desk = _desk(context)
    found, errors = desk.bookings.check_book_view(view["state"]["values"])
    if errors or found is None:
        ack(response_action="errors", errors=errors)
        return
    ack()
    user, channel = context["actor"], context["services"].settings.wonolo_channel

    def run():
        result = desk.bookings.offer_booking(found, user)
        send_ephemeral(context, body, result, channel=channel)

    after_ack(context, body, run, channel=channel)


def _offer_button(call):
    """Confirm / Cancel on a booking offer: `call(desk, value, user)` on the work pool, its Reply to the clicker."""

    @guarded
    def listener(ack: Ack, body: dict, context: BoltContext):
        ack()
        desk, value, user = _desk(context), action_value(body), context["actor"]
        after_ack(context, body, lambda: send_ephemeral(context, body, call(desk, value, user)))

    return listener


confirm_booking = _offer_button(lambda desk, value, user: desk.bookings.confirm_booking(value, user))
cancel_booking = _offer_button(lambda desk, value, user: desk.bookings.cancel_booking(value, user))


def _answer_in_channel(context: BoltContext, body: dict, work) -> None:
    """A modal has no response_url: answer ephemerally in the Wonolo channel."""
    channel = context["services"].settings.wonolo_channel
    after_ack(context, body, lambda: work().message, channel=channel)


@guarded
def submit_cancel_job(ack: Ack, body: dict, context: BoltContext, view: dict):
    reason = cancel_reason_from_view(view["state"]["values"])
    if not reason:
        ack(response_action="errors",
            errors={ids.WONOLO_CANCEL_REASON_BLOCK: "Pick a reason or type one: Wonolo needs it."})
        return
    ack()
    desk, user = _desk(context), context["actor"]
    job_id = job_id_from_metadata(view.get("private_metadata"))
    _answer_in_channel(context, body, lambda: desk.actions.cancel_job(job_id, user, reason))


@guarded
def submit_message_worker(ack: Ack, body: dict, context: BoltContext, view: dict):
    text = message_from_view(view["state"]["values"])
    if not text:
        ack(response_action="errors", errors={ids.WONOLO_MESSAGE_BLOCK: "Write a message."})
        return
    ack()
    desk, user = _desk(context), context["actor"]
    job_id, view_id = job_id_from_metadata(view.get("private_metadata")), view.get("id")
    _answer_in_channel(context, body, lambda: desk.actions.message_worker(job_id, user, text, view_id))


@guarded
def submit_assign_worker(ack: Ack, body: dict, context: BoltContext, view: dict):
    worker, notes = assign_from_view(view["state"]["values"])
    if not worker:
        ack(response_action="errors", errors={ids.WONOLO_ASSIGN_WORKER_BLOCK: "Give the worker's id or e-mail."})
        return
    ack()
    desk, user = _desk(context), context["actor"]
    jr_id = job_request_id_from_metadata(view.get("private_metadata"))
    _answer_in_channel(context, body, lambda: desk.actions.assign_worker(jr_id, user, worker, notes))


def register(app: App) -> None:
    app.command("/wonolo")(wonolo_command)
    app.action(ids.WONOLO_RESEND)(resend_notifications)
    app.action(ids.WONOLO_RERANK)(rerank_workers)
    app.action(ids.WONOLO_CANCEL_REQUEST)(cancel_request)
    app.action(ids.WONOLO_CANCEL_JOB)(open_cancel_job)
    app.action(ids.WONOLO_MESSAGE_WORKER)(open_message_worker)
    app.view_submission(ids.WONOLO_CANCEL_JOB_MODAL)(submit_cancel_job)
    app.view_submission(ids.WONOLO_MESSAGE_MODAL)(submit_message_worker)
    app.action(ids.WONOLO_ASSIGN)(open_assign_worker)
    app.view_submission(ids.WONOLO_ASSIGN_MODAL)(submit_assign_worker)
    app.action(ids.WONOLO_PAGE_NEXT)(turn_page)
    app.action(ids.WONOLO_PAGE_PREVIOUS)(turn_page)
    app.action(ids.WONOLO_BOOK_AGAIN)(open_book_again)
    app.action(ids.WONOLO_LIST_DETAILS)(show_details)
    app.action(ids.WONOLO_LIST_CANCEL)(cancel_listed_request)
    app.view_submission(ids.WONOLO_BOOK_MODAL)(submit_booking)
    app.action(ids.WONOLO_BOOK_CONFIRM)(confirm_booking)
    app.action(ids.WONOLO_BOOK_CANCEL)(cancel_booking)
