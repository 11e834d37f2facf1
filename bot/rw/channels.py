"""A channel as people type it for `/rw route`: `<#C…|name>` (Slack escaped it), an id, or a
plain `#name` (the command's `should_escape` is false, or the name was typed, not picked),
which is looked up by name (conversations.list)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack.mrkdwn import escape, truncate

if TYPE_CHECKING:
    from slack_sdk import WebClient

CHANNEL_NAME = re.compile(r"^#([a-z0-9][a-z0-9._-]{0,79})$", re.IGNORECASE)
MAX_PAGES = 20  # × 200 channels: a large workspace


class ChannelNames:
    """Turns a typed `#name` into the channel's id; anything else is passed on as it was typed."""

    def __init__(self, slack: WebClient):
        self.slack = slack

    def resolve(self, typed: str) -> str:
        found = CHANNEL_NAME.match((typed or "").strip())
        if found is None:
            return typed  # `<#C…|name>`, an id, `off` or something routing explains
        name = found.group(1).lower()
        channel = self._find(name)
        if channel is None:
            raise UserError(f"I see no channel `#{truncate(escape(name), 80)}`: check its name, or for a private "
                            "channel first `/invite @gigdesk` there.")
        return channel

    def _find(self, name: str) -> str | None:
        cursor = None
        try:
            for _ in range(MAX_PAGES):
                page = self.slack.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                                     limit=200, cursor=cursor)
                for channel in page.get("channels") or []:
                    if str(channel.get("name", "")).lower() == name:
                        return str(channel["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as e:
            raise UserError(f"I could not look channels up by name (Slack said {escape(str(e.response.get('error')))}): "
                            "pick the channel from Slack's list as you type `#`, or use `/rw route` alone for a form.") from None
        return None
