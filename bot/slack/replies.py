"""What the bot answers one person with, and the one way it is sent.

Services build a `Reply` (or an `OpenModal`); listeners hand it to
`send_ephemeral`, the only sender of ephemeral answers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

log = logging.getLogger("gigdesk.handlers")

# Slack takes a response_url for 30 minutes; past 25 the answer goes through
# chat.postEphemeral instead, leaving a slow send time to arrive.
RESPONSE_URL_MAX_AGE_SECONDS = 25 * 60


@dataclass(frozen=True)
class Reply:
    """What to show the user (ephemeral). replace_original: replace the clicked (ephemeral) message."""

    text: str
    blocks: list | None = None
    replace_original: bool = False


@dataclass(frozen=True)
class OpenModal:
    """Open this view (on the request's trigger_id) instead of answering."""

    view: dict


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


def send_ephemeral(context, body: dict, reply: Reply | str, *, channel: str | None = None) -> None:
    """Tell the acting user something, visible only to them.

    Uses the request's response_url while it is fresh (commands, buttons),
    otherwise chat.postEphemeral in the given channel or the request's, then
    the review channel. `reply.replace_original` replaces a clicked ephemeral
    message (paging through a list) while the response_url is fresh.
    """
    if isinstance(reply, str):
        reply = Reply(reply)
    response_url = fresh_response_url(context, body)
    if response_url:
        WebhookClient(response_url, timeout=10).send(
            text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=reply.replace_original
        )
        return
    user = context.get("actor") or context.user_id
    services = context["services"]
    review = services.settings.review_channel
    for target in dict.fromkeys([channel or request_channel(body) or review, review]):
        try:
            services.slack.chat_postEphemeral(channel=target, user=user, text=reply.text, blocks=reply.blocks)
            return
        except SlackApiError as e:
            log.warning("could not send an ephemeral reply in %s: %s", target, e.response.get("error"))
