"""Web API arguments: Slack's documented limits, its errors, cursors, timestamps."""

from __future__ import annotations

import base64
from decimal import Decimal, InvalidOperation
from typing import Any

_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")



class _ApiError(Exception):
    def __init__(self, error: str, *, status: int = 200, headers: dict | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra




def _truthy(v: Any) -> bool:
    return v is True or v == 1 or (isinstance(v, str) and v.strip().lower() in ("1", "true", "yes"))


def _dec(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except (InvalidOperation, ValueError):
        raise _ApiError("invalid_ts_latest" if ts else "invalid_arguments") from None


# Slack's documented argument limits for every Web API method the bot calls,
# in one place: (the largest value Slack accepts, the error it answers beyond).
# Sources: docs.slack.dev/reference/methods/<method>.
ARGUMENT_LIMITS: dict[str, dict[str, tuple[int, str]]] = {
    # "specify a limit value under 1000. We recommend no more than 200"
    "conversations.members": {"limit": (999, "invalid_limit")},
    # "Maximum of 999"
    "conversations.history": {"limit": (999, "invalid_limit")},
    # cursor pagination: "Must be an integer with a max value of 999"
    "conversations.replies": {"limit": (999, "invalid_limit")},
    # "truncates text longer than 40,000 characters" / "up to 50 blocks per message"
    "chat.postMessage": {"text": (40_000, "msg_too_long"), "blocks": (50, "invalid_blocks")},
    "chat.postEphemeral": {"text": (40_000, "msg_too_long"), "blocks": (50, "invalid_blocks")},
    "chat.update": {"text": (40_000, "msg_too_long"), "blocks": (50, "invalid_blocks")},
    # "up to 100 blocks in modals or Home tabs"; private_metadata "max 3000 characters";
    # callback_id and external_id "max 255 characters"
    "views.open": {"blocks": (100, "invalid_arguments"), "private_metadata": (3000, "invalid_arguments"),
                   "callback_id": (255, "invalid_arguments"), "external_id": (255, "invalid_arguments")},
    # Message metadata: Slack publishes no number for it (docs.slack.dev/messaging/message-metadata asks
    # for small payloads of ids, not data). The stand-in refuses an event_payload array of more than
    # 100 items or over 8,000 characters of JSON, a bound gigdesk keeps well inside, so a test catches
    # a payload that grows with the backlog.
    "metadata": {"array_items": (100, "invalid_metadata_format"), "json_chars": (8_000, "invalid_metadata_format")},
    # response_url: "up to five times within 30 minutes"
    "response_url": {"blocks": (50, "invalid_blocks"), "uses": (5, "used_url"), "age_seconds": (30 * 60, "expired_url")},
}
for _view_method in ("views.push", "views.update", "views.publish"):
    ARGUMENT_LIMITS[_view_method] = ARGUMENT_LIMITS["views.open"]


def _limit(method: str, name: str) -> int:
    return ARGUMENT_LIMITS[method][name][0]


def _int_arg(args: dict, name: str, default: int, method: str) -> int:
    """An integer argument within Slack's documented limit; beyond it, Slack's error."""
    maximum, error = ARGUMENT_LIMITS[method][name]
    v = args.get(name)
    if v in (None, ""):
        return default
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise _ApiError(error) from None
    if n > maximum:
        raise _ApiError(error)
    return n if n > 0 else default


def _cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _uncursor(kind: str, cursor: str) -> str:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except Exception:
        raise _ApiError("invalid_cursor") from None
    prefix = f"{kind}:"
    if not raw.startswith(prefix):
        raise _ApiError("invalid_cursor")
    return raw[len(prefix):]
