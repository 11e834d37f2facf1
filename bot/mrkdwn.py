"""Escaping untrusted text for Slack mrkdwn, and cutting it to Block Kit limits."""

from __future__ import annotations

from decimal import Decimal

ELLIPSIS = "…"


def escape(text: object) -> str:
    """Escape &, < and > so text can never mention anyone or disguise a link.

    Slack only parses <!channel>, <@U…> and <url|label> from angle brackets,
    so escaping the three control characters neutralises all of them.
    """
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut to at most `limit` characters, ending with an ellipsis when cut.

    Never cuts inside an escape entity such as &amp;.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def plain(text: object, limit: int) -> str:
    """Untrusted text for a plain_text field: no escaping needed, only a length cut."""
    return truncate(" ".join(str(text or "").split()) or "-", limit)


def money(amount: Decimal | str | None) -> str:
    """$1,234.50 style."""
    if amount is None:
        return "-"
    value = Decimal(str(amount))
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def mention(user_id: str | None) -> str:
    """A user mention for our own (trusted) Slack user IDs."""
    return f"<@{user_id}>" if user_id else "someone"


def date_token(epoch: float, fallback: str, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack renders this in each reader's own time zone."""
    return f"<!date^{int(epoch)}^{fmt}|{escape(fallback)}>"


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """▓▓▓▓░░░░░░ style bar."""
    if total <= 0:
        return "░" * width
    filled = max(0, min(width, round(width * done / total)))
    return "▓" * filled + "░" * (width - filled)
