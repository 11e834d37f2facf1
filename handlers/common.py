"""Replies meant for one person: always ephemeral."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

log = logging.getLogger("gigdesk.handlers")


def reply(context, body: dict, text: str, blocks: list | None = None, *, channel: str | None = None) -> None:
    """Tell the acting user something, visible only to them.

    Uses the request's response_url when there is one (commands, buttons),
    otherwise chat.postEphemeral in the given channel or the review channel.
    """
    user = context.get("actor") or context.user_id
    response_url = body.get("response_url")
    if response_url:
        WebhookClient(response_url, timeout=10).send(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=False
        )
        return
    services = context["services"]
    try:
        services.slack.chat_postEphemeral(
            channel=channel or services.settings.review_channel, user=user, text=text, blocks=blocks
        )
    except SlackApiError as e:
        log.warning("could not send an ephemeral reply: %s", e.response.get("error"))


def action_value(body: dict) -> str:
    """The clicked element's value; "" when the payload does not hold a text one."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    value = first.get("value", "") if isinstance(first, dict) else ""
    return value if isinstance(value, str) else ""


def clicked_message(body: dict) -> tuple[str, str]:
    """(channel, ts) of the message a button was clicked on; ("", "") when there is none."""
    container = body.get("container")
    if not isinstance(container, dict) or container.get("type") != "message" or container.get("is_ephemeral"):
        return ("", "")
    channel, ts = container.get("channel_id"), container.get("message_ts")
    return (channel, ts) if isinstance(channel, str) and isinstance(ts, str) else ("", "")
