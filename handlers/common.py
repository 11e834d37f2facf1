"""Replies meant for one person: always ephemeral."""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

log = logging.getLogger("gigdesk.handlers")

# Slack takes a response_url for 30 minutes; past 25 the answer goes through
# chat.postEphemeral instead, leaving a slow send time to arrive.
RESPONSE_URL_MAX_AGE_SECONDS = 25 * 60


def fresh_response_url(context, body: dict) -> str | None:
    """The request's response_url while Slack still takes it, else None.

    Its age is counted from the request's signed timestamp (middleware puts
    it in context["requested_at"]): a reply after a long job may be late.
    """
    url = body.get("response_url")
    if not isinstance(url, str) or not url:
        return None
    requested_at = context.get("requested_at")
    if requested_at is not None and time.time() - requested_at > RESPONSE_URL_MAX_AGE_SECONDS:
        return None
    return url


def request_channel(body: dict) -> str | None:
    """The channel a command was typed in or a clicked message is in, if any."""
    found = [body.get("channel_id")]
    for key, field in (("channel", "id"), ("container", "channel_id")):
        if isinstance(body.get(key), dict):
            found.append(body[key].get(field))
    return next((c for c in found if isinstance(c, str) and c), None)


def reply(context, body: dict, text: str, blocks: list | None = None, *, channel: str | None = None,
          replace_original: bool = False) -> None:
    """Tell the acting user something, visible only to them.

    Uses the request's response_url while it is fresh (commands, buttons),
    otherwise chat.postEphemeral in the given channel or the request's, then
    the review channel. `replace_original`: a clicked ephemeral message is
    replaced (paging through a list) while the response_url is fresh.
    """
    user = context.get("actor") or context.user_id
    response_url = fresh_response_url(context, body)
    if response_url:
        WebhookClient(response_url, timeout=10).send(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=replace_original
        )
        return
    services = context["services"]
    review = services.settings.review_channel
    for target in dict.fromkeys([channel or request_channel(body) or review, review]):
        try:
            services.slack.chat_postEphemeral(channel=target, user=user, text=text, blocks=blocks)
            return
        except SlackApiError as e:
            log.warning("could not send an ephemeral reply in %s: %s", target, e.response.get("error"))


def action_value(body: dict) -> str:
    """The clicked element's value; "" when the payload does not hold a text one."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    value = first.get("value", "") if isinstance(first, dict) else ""
    return value if isinstance(value, str) else ""


def selected_value(body: dict) -> str:
    """The value of the option picked in a select or overflow; "" when there is none."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    option = first.get("selected_option") if isinstance(first, dict) else None
    value = option.get("value", "") if isinstance(option, dict) else ""
    return value if isinstance(value, str) else ""


def clicked_message(body: dict) -> tuple[str, str]:
    """(channel, ts) of the message a button was clicked on; ("", "") when there is none."""
    container = body.get("container")
    if not isinstance(container, dict) or container.get("type") != "message" or container.get("is_ephemeral"):
        return ("", "")
    channel, ts = container.get("channel_id"), container.get("message_ts")
    return (channel, ts) if isinstance(channel, str) and isinstance(ts, str) else ("", "")
