"""/rw: the slash command, Confirm / Cancel, campaign buttons, the two modals.

Thin listeners: ack first (modal submissions: validate, then ack with the
field errors or ack), then one call into bot.rw.command.RwService on the
work pool, then show the Reply it returns. Opening a modal is the exception:
it happens on the listener thread right after ack, while the trigger_id is
fresh (it only costs Slack calls).
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot.rw.command import RwService
from bot.rw.forms import notice_modal
from bot.rw.parsing import channel_from_metadata, opens_modal
from bot.slack import errors as slack_errors
from bot.slack import ids
from bot.slack.replies import OpenModal, Reply, send_ephemeral
from bot.slack.trigger import BUSY, trigger_bound
from handlers import review
from handlers.common import action_value, selected_value
from handlers.errors import acked_button, after_ack, guarded

log = logging.getLogger("gigdesk.handlers")


def _rw(context: BoltContext) -> RwService:
    """The /rw feature, as the composition root wired it."""
    return context["features"].rw


def _show(context: BoltContext, body: dict, result: Reply | OpenModal, *, channel: str | None = None) -> None:
    if isinstance(result, OpenModal):
        try:
            context["services"].slack.views_open(trigger_id=body["trigger_id"], view=result.view)
        except SlackApiError as e:
            error = e.response.get("error", "error")
            text = BUSY if error == slack_errors.RATELIMITED else f"I could not open the form (Slack said {error}). Please try again."
            send_ephemeral(context, body, Reply(f":warning: {text}"), channel=channel)
        return
    send_ephemeral(context, body, result, channel=channel)


def _after_ack(context: BoltContext, body: dict, work, *, channel: str | None = None) -> None:
    """Run `work` (API calls) after the ack and show the Reply or modal it returns."""
    after_ack(context, body, work, show=lambda result: _show(context, body, result, channel=channel), channel=channel)


@guarded
def rw_command(ack: Ack, body: dict, command: dict, context: BoltContext):
    ack()
    if (command.get("text") or "").lower().split()[:1] == ["next"]:  # the review walk: handlers/review.py
        return review.open_walk_after_ack(context, body)
    commands, user = _rw(context), context["actor"]
    text, channel = command.get("text") or "", command.get("channel_id")
    if opens_modal(text):
        with trigger_bound():  # the checks and views.open, within the trigger's 3 s
            _show(context, body, commands.run(text, user, channel), channel=channel)
    else:
        # A slow answer (`/rw spend`) first says it is under way.
        progress = lambda reply: send_ephemeral(context, body, reply, channel=channel)  # noqa: E731
        _after_ack(context, body, lambda: commands.run(text, user, channel, progress=progress), channel=channel)


def _button(call, *, read=action_value):
    """A button that acks, then runs `call(commands, value, user)` on the work pool and shows
    the Reply or modal it returns to the clicker (`read`: how the clicked value is read)."""
    return acked_button("rw", call, read=read, run=_after_ack)


@guarded
def confirm_spend(ack: Ack, body: dict, context: BoltContext):
    ack()
    commands, value, user = _rw(context), action_value(body), context["actor"]
    # A long approve-all replaces the clicked message with its progress (response_url, replace_original).
    _after_ack(context, body, lambda: commands.confirm(value, user, progress=lambda reply: send_ephemeral(context, body, reply)))


cancel_spend = _button(lambda commands, value, user: commands.cancel(value, user))
include_flagged = _button(lambda commands, value, user: commands.offer_including_flagged(value, user))
campaign_approve_all = _button(lambda commands, value, user: commands.offer_approve_all(value, user))
campaign_post_pending = _button(lambda commands, value, user: commands.post_pending(value, user))
# Details on a list row or candidate, View campaign after a job is created: a new ephemeral reply.
campaign_details = _button(lambda commands, value, user: commands.campaign_details(value, user))
campaign_row_menu = _button(lambda commands, value, user: commands.row_menu(value, user), read=selected_value)
# Next / Previous / sort on `/rw campaigns`: the list is replaced by that page.
campaigns_page = _button(lambda commands, value, user: commands.campaigns_page(value, user))
# Block on a `/rw worker` reply (Slack asked the confirm dialog first).
worker_block = _button(lambda commands, value, user: commands.block_worker(value, user))


def campaign_options(ack: Ack, body: dict, context: BoltContext):
    """The campaign type-ahead: matching campaigns from the cached list, answered in the ack."""
    try:
        query = body.get("value")
        options = _rw(context).campaign_suggestions(query if isinstance(query, str) else "", context["actor"])
    except Exception:
        log.exception("campaign type-ahead failed")
        options = []
    ack(options=options)


@guarded
def home_new_job(ack: Ack, body: dict, context: BoltContext):
    ack()
    with trigger_bound():
        result = _rw(context).job_modal(context["actor"], None)
        if isinstance(result, Reply):  # App Home has no channel to answer in: say it in a modal
            result = OpenModal(notice_modal("New job", result.text))
        _show(context, body, result)


def _form(check, submit):
    """A modal submission: `check(commands, values)` gives (params, field errors); errors stay in
    the modal (nothing lost, nothing spent), else `submit(commands, params, user)` runs after the ack."""

    @guarded
    def listener(ack: Ack, body: dict, context: BoltContext, view: dict):
        services = context["services"]
        params, errors = check(_rw(context), view["state"]["values"])
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        channel = channel_from_metadata(view.get("private_metadata"), services.settings.review_channel)
        user = context["actor"]
        commands = _rw(context)
        _after_ack(context, body, lambda: submit(commands, params, user), channel=channel)

    return listener


submit_job = _form(lambda commands, values: commands.check_job_view(values),
                   lambda commands, params, user: commands.submit_job_view(params, user))
submit_new_campaign = _form(lambda commands, values: commands.check_new_view(values),
                            lambda commands, params, user: commands.submit_new_view(params, user))
submit_approve_all = _form(lambda commands, values: commands.check_campaign_view(values),
                           lambda commands, cid, user: commands.offer_approve_all(cid, user))
submit_campaign = _form(lambda commands, values: commands.check_campaign_view(values),
                        lambda commands, cid, user: commands.campaign_details(cid, user))
submit_route = _form(lambda commands, values: commands.check_route_view(values),
                     lambda commands, params, user: commands.route_from_form(params, user))


def register(app: App) -> None:
    app.command("/rw")(rw_command)
    app.action(ids.SPEND_CONFIRM)(confirm_spend)
    app.action(ids.SPEND_CANCEL)(cancel_spend)
    app.action(ids.SPEND_INCLUDE_FLAGGED)(include_flagged)
    app.action(ids.CAMPAIGN_APPROVE_ALL)(campaign_approve_all)
    app.action(ids.CAMPAIGN_POST_PENDING)(campaign_post_pending)
    app.action(ids.CAMPAIGN_DETAILS)(campaign_details)
    app.action(ids.CAMPAIGN_ROW_MENU)(campaign_row_menu)
    for pager in (ids.CAMPAIGNS_PAGE_NEXT, ids.CAMPAIGNS_PAGE_PREVIOUS, ids.CAMPAIGNS_SORT):
        app.action(pager)(campaigns_page)
    app.options(ids.CAMPAIGN_SELECT)(campaign_options)
    app.view_submission(ids.APPROVE_ALL_MODAL)(submit_approve_all)
    app.view_submission(ids.CAMPAIGN_MODAL)(submit_campaign)
    app.view_submission(ids.ROUTE_MODAL)(submit_route)
    app.action(ids.RW_WORKER_BLOCK)(worker_block)
    app.action(ids.HOME_NEW_JOB)(home_new_job)
    app.view_submission(ids.JOB_MODAL)(submit_job)
    app.view_submission(ids.NEW_CAMPAIGN_MODAL)(submit_new_campaign)
