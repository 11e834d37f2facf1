"""What the Wonolo desk's parts share: the answer to a click, error wording for logs, typed-input
helpers, and chat.update that tells a deleted message apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import errors as slack_errors
from bot.slack.mrkdwn import escape
from bot.wonolo.client import WonoloError, WonoloForbidden, WonoloInvalid, WonoloNotFound, WonoloUnauthorized

WONOLO_ACTIONS = "act on Wonolo job requests"  # "You are not allowed to …" (bot.permissions)
PERMANENT_SLACK_ERRORS = slack_errors.PERMANENT  # another attempt cannot fix these

_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")



def permanent(error: BaseException) -> bool:
    """Another attempt cannot fix this (Wonolo 401/403/404/422, a missing Slack channel or scope)."""
    if isinstance(error, (WonoloNotFound, WonoloForbidden, WonoloUnauthorized, WonoloInvalid)):
        return True
    if isinstance(error, SlackApiError):
        return error.response.get("error") in PERMANENT_SLACK_ERRORS
    return False


def describe(error: BaseException) -> str:
    """For logs: short and free of secrets (Wonolo errors are written to be)."""
    if isinstance(error, SlackApiError):
        return f"Slack said {error.response.get('error')}"
    if isinstance(error, WonoloError):
        return f"Wonolo: {error}"
    return type(error).__name__


def parse_email(value: str) -> str | None:
    """A plain e-mail address from what was typed (Slack may have linked it), else None."""
    value = value.strip()
    if value.startswith("<mailto:") and value.endswith(">"):
        value = value[len("<mailto:"):-1].split("|", 1)[0]
    if len(value) > 254 or not _EMAIL_RE.match(value):
        return None
    return value


def shown(text: str, limit: int = 40) -> str:
    """Untrusted command input, cut and escaped for an answer."""
    text = " ".join(str(text).split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def update_message(slack: Any, channel: str, ts: str, text: str, blocks: list) -> bool:
    """chat.update; False when the message is gone."""
    try:
        slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as e:
        if e.response.get("error") == slack_errors.MESSAGE_NOT_FOUND:
            return False
        raise
    return True


def refresh_quietly(refresh: Callable[[], Any], what: str, log: Any) -> None:
    """After an action: bring the card up to date; a failure is only logged (the action is done)."""
    try:
        refresh()
    except (WonoloError, SlackApiError) as e:
        log.warning("could not refresh %s: %s", what, describe(e))
    except Exception:
        log.exception("could not refresh %s", what)
