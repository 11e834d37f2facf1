"""Block Kit as readable plain text, for terminal previews (`gigdesk digest --dry-run --format text`)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, tzinfo

_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([A-Z0-9_]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([A-Z0-9_]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_BARE_LINK = re.compile(r"<([^<>|]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<![\w])_([^_\n]+)_(?![\w])")
_STRIKE = re.compile(r"~([^~\n]+)~")
_CODE = re.compile(r"`([^`\n]+)`")


def mrkdwn_as_text(text: str, tz: tzinfo = UTC) -> str:
    """Slack mrkdwn as it reads on screen: links as "label (url)", mentions as @id, dates in `tz`, no markup."""
    text = _DATE.sub(lambda m: f"{datetime.fromtimestamp(int(m.group(1)), tz):%Y-%m-%d %H:%M %Z}", text)
    text = _USER.sub(r"@\1", text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _LINK.sub(lambda m: m.group(2) if m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(r"\1", text)
    for pattern in (_BOLD, _ITALIC, _STRIKE, _CODE):
        text = pattern.sub(r"\1", text)
    return html.unescape(text)


def blocks_as_text(blocks: list[dict], tz: tzinfo = UTC) -> str:
    """The blocks of a message, one paragraph each, in order; dates in `tz`."""

    def _text(obj: dict | None) -> str:
        if not isinstance(obj, dict):
            return ""
        text = str(obj.get("text") or "")
        return mrkdwn_as_text(text, tz) if obj.get("type") == "mrkdwn" else text

    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"))
            out.append(f"{title}\n{'=' * len(title)}")
        elif kind == "section":
            parts = [_text(block.get("text"))] + [_text(f) for f in block.get("fields") or []]
            out.append("\n".join(p for p in parts if p))
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "context":
            out.append(" · ".join(_text(e) if e.get("type") != "image" else f"[{e.get('alt_text', 'image')}]" for e in block.get("elements") or []))
        elif kind == "image":
            out.append(f"[image: {block.get('alt_text') or block.get('image_url', '')}]")
        elif kind == "actions":
            out.append(" ".join(f"[{_text(e.get('text')) or e.get('type')}]" for e in block.get("elements") or []))
    return "\n\n".join(p for p in out if p) + "\n"
