"""/rw: the slash command, Confirm / Cancel, campaign buttons, the two modals.

Thin listeners: ack first (modal submissions: validate, then ack with the
field errors or ack), then one call into bot.commands.CommandService, then
show the Reply it returns.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import ids
from bot.commands import OpenModal, Reply, channel_from_metadata
from handlers.common import action_value

log = logging.getLogger("gigdesk.handlers")


def _send(context: BoltContext, body: dict, reply: Reply, *, channel: str | None = None) -> None:
    """Ephemeral to the acting user: the response_url when there is one, else chat.postEphemeral."""
    services = context["services"]
    response_url = body.get("response_url")
    if response_url:
        WebhookClient(response_url, timeout=10).send(
            text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=reply.replace_original
        )
        return
    user = context["actor"]
    review = services.settings.review_channel
    for target in dict.fromkeys([channel or review, review]):  # the given channel, then the review channel
        try:
            services.slack.chat_postEphemeral(channel=target, user=user, text=reply.text, blocks=reply.blocks)
            return
        except SlackApiError as e:
            log.warning("could not send an ephemeral reply in %s: %s", target, e.response.get("error"))


def _show(context: BoltContext, body: dict, result: Reply | OpenModal, *, channel: str | None = None) -> None:
    if isinstance(result, OpenModal):
        try:
            context["services"].slack.views_open(trigger_id=body["trigger_id"], view=result.view)
        except SlackApiError as e:
            error = e.response.get("error", "error")
            _send(context, body, Reply(f":warning: I could not open the form (Slack said {error}). Please try again."), channel=channel)
        return
    _send(context, body, result, channel=channel)


def rw_command(ack: Ack, body: dict, command: dict, context: BoltContext):
    ack()
    channel = command.get("channel_id")
    result = context["services"].commands.run(command.get("text") or "", context["actor"], channel)
    _show(context, body, result, channel=channel)


def confirm_spend(ack: Ack, body: dict, context: BoltContext):
    ack()
    _send(context, body, context["services"].commands.confirm(action_value(body), context["actor"]))


def cancel_spend(ack: Ack, body: dict, context: BoltContext):
    ack()
    _send(context, body, context["services"].commands.cancel(action_value(body), context["actor"]))


def campaign_approve_all(ack: Ack, body: dict, context: BoltContext):
    ack()
    _send(context, body, context["services"].commands.offer_approve_all(action_value(body), context["actor"]))


def campaign_post_pending(ack: Ack, body: dict, context: BoltContext):
    ack()
    _send(context, body, context["services"].commands.post_pending(action_value(body), context["actor"]))


def home_new_job(ack: Ack, body: dict, context: BoltContext):
    ack()
    _show(context, body, context["services"].commands.job_modal(context["actor"], None))


def submit_job(ack: Ack, body: dict, context: BoltContext, view: dict):
    commands = context["services"].commands
    params, errors = commands.check_job_view(view["state"]["values"])
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    channel = channel_from_metadata(view.get("private_metadata"), context["services"].settings.review_channel)
    _send(context, body, commands.submit_job_view(params, context["actor"]), channel=channel)


def submit_new_campaign(ack: Ack, body: dict, context: BoltContext, view: dict):
    commands = context["services"].commands
    params, errors = commands.check_new_view(view["state"]["values"])
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    channel = channel_from_metadata(view.get("private_metadata"), context["services"].settings.review_channel)
    _send(context, body, commands.submit_new_view(params, context["actor"]), channel=channel)


def register(app: App) -> None:
    app.command("/rw")(rw_command)
    app.action(ids.SPEND_CONFIRM)(confirm_spend)
    app.action(ids.SPEND_CANCEL)(cancel_spend)
    app.action(ids.CAMPAIGN_APPROVE_ALL)(campaign_approve_all)
    app.action(ids.CAMPAIGN_POST_PENDING)(campaign_post_pending)
    app.action(ids.HOME_NEW_JOB)(home_new_job)
    app.view_submission(ids.JOB_MODAL)(submit_job)
    app.view_submission(ids.NEW_CAMPAIGN_MODAL)(submit_new_campaign)
