"""Escaping untrusted text for Slack mrkdwn, and cutting it to Block Kit limits."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

ELLIPSIS = "…"


def escape(text: object) -> str:
    """Escape &, < and > so text can never mention anyone or disguise a link.

    Slack only parses <!channel>, <@U…> and <url|label> from angle brackets,
    so escaping the three control characters neutralises all of them.
    """
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Characters that would end or split a <url|label> link, or break the URL.
_LINK_BREAKERS = re.compile(r"[|<>\s\x00-\x1f\x7f]")
MAX_LINK_URL = 3000


def link(url: object, label: object) -> str:
    """A mrkdwn link <url|label> to an untrusted http(s) URL (from an API).

    `|`, `<`, `>`, spaces and control characters in the URL are
    percent-encoded, so text after a `|` can never become the label and
    disguise where the link goes; anything but an http(s) URL with a host is
    not linked at all: only the escaped label is shown.
    """
    text = escape(label)
    raw = str(url or "").strip()
    try:
        parts = urlsplit(raw)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and len(raw) <= MAX_LINK_URL
    except ValueError:
        ok = False
    if not ok:
        return text
    safe = _LINK_BREAKERS.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), raw)
    return f"<{safe.replace('&', '&amp;')}|{text}>"


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


def iso_epoch(iso: str | None) -> float | None:
    """Seconds since the epoch of an ISO time (a trailing Z allowed); None when it is none."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def when(iso: str | None) -> str:
    """A stored ISO time as a Slack date token (each reader's time zone)."""
    epoch = iso_epoch(iso)
    return date_token(epoch, str(iso)) if epoch is not None else escape(iso or "unknown time")
