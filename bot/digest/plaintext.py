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


def _object_text(obj: object, tz: tzinfo) -> str:
    """A text object as it reads: mrkdwn rendered, plain text as is."""
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text") or "")
    return mrkdwn_as_text(text, tz) if obj.get("type") == "mrkdwn" else text


def _header(block: dict, tz: tzinfo) -> str:
    title = _object_text(block.get("text"), tz)
    return f"{title}\n{'=' * len(title)}"


def _section(block: dict, tz: tzinfo) -> str:
    parts = [_object_text(block.get("text"), tz)] + [_object_text(f, tz) for f in block.get("fields") or []]
    return "\n".join(p for p in parts if p)


def _context(block: dict, tz: tzinfo) -> str:
    return " · ".join(f"[{e.get('alt_text', 'image')}]" if e.get("type") == "image" else _object_text(e, tz)
                      for e in block.get("elements") or [])


def _image(block: dict, tz: tzinfo) -> str:
    return f"[image: {block.get('alt_text') or block.get('image_url', '')}]"


def _actions(block: dict, tz: tzinfo) -> str:
    return " ".join(f"[{_object_text(e.get('text'), tz) or e.get('type')}]" for e in block.get("elements") or [])


_BLOCK_AS_TEXT = {
    "header": _header,
    "section": _section,
    "divider": lambda block, tz: "-" * 40,
    "context": _context,
    "image": _image,
    "actions": _actions,
}


def blocks_as_text(blocks: list[dict], tz: tzinfo = UTC) -> str:
    """The blocks of a message, one paragraph each, in order; dates in `tz` (unknown kinds left out)."""
    out = [_BLOCK_AS_TEXT[kind](block, tz) for block in blocks if (kind := block.get("type")) in _BLOCK_AS_TEXT]
    return "\n\n".join(p for p in out if p) + "\n"
