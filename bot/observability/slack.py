"""The bot's Slack WebClient, measured: each Web API call's time and, when it fails, its class.

`slack_client()` in bot.services builds this class. Errors and successful posts also go to
bot.observability.signals (posts Slack refuses to a channel become incidents).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.observability import metrics
from bot.observability.signals import SIGNALS

log = logging.getLogger("gigdesk.metrics")

# Slack's error codes worth their own label; any other is "api_error" (labels stay bounded).
KNOWN_ERRORS = frozenset({
    "ratelimited", "not_in_channel", "channel_not_found", "is_archived", "invalid_auth", "token_revoked",
    "account_inactive", "not_authed", "missing_scope", "invalid_blocks", "message_not_found", "cant_update_message",
    "expired_trigger_id", "user_not_found", "msg_too_long",
})
METHOD_NAME = re.compile(r"^[A-Za-z][A-Za-z.]{0,59}$")


def error_class(e: Exception) -> str:
    if isinstance(e, SlackApiError):
        response = e.response
        if getattr(response, "status_code", 200) >= 500:
            return "server"
        code = str(response.get("error") or "")
        return code if code in KNOWN_ERRORS else "api_error"
    return "network"


class MeasuredWebClient(WebClient):
    """A WebClient whose every call is timed (gigdesk_upstream_request_seconds{api="slack"}) and
    whose failures are counted by class (gigdesk_errors_total{api="slack"})."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        method = api_method if METHOD_NAME.match(api_method) else "other"
        started = time.monotonic()
        body = kwargs.get("json") or kwargs.get("data") or kwargs.get("params") or {}
        channel = body.get("channel") if isinstance(body, dict) and isinstance(body.get("channel"), str) else None
        try:
            response = super().api_call(api_method, **kwargs)
        except Exception as e:
            kind = error_class(e)
            metrics.error("slack", kind)
            error = str(e.response.get("error") or kind) if isinstance(e, SlackApiError) else kind
            SIGNALS.slack_error(method, error, channel)
            raise
        finally:
            metrics.UPSTREAM_SECONDS.labels("slack", method).observe(time.monotonic() - started)
        if method == "chat.postMessage":
            SIGNALS.slack_posted(channel)
        return response
