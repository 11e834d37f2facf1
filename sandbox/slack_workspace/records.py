"""What the stand-in keeps: the calls it answered, the interactions it delivered, the messages of the workspace."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

PERMALINK_HOST = "https://gigdesk-standin.slack.invalid"
APP_ID = "A0GIGDESK"


@dataclass
class Call:
    """One request the stand-in handled.

    ``args`` are the JSON body or form fields merged with the query string
    (token removed); JSON strings in blocks/attachments/metadata/view are
    decoded.  ``status``/``ok``/``error`` describe the answer it got.
    """

    method: str
    args: dict
    time: float
    token: str | None
    status: int | None = None
    ok: bool | None = None
    error: str | None = None
    received: float = field(default_factory=time.monotonic)  # the stand-in's monotonic clock, for durations


@dataclass
class Delivery:
    """An interaction the stand-in delivered to the app (POST /_deliver)."""

    to: str
    message_ts: str | None  # the message clicked, if any
    received: float  # time.monotonic() when it reached the stand-in, the clock of Call.received
    status: int | None = None  # the app's answer


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list | None
    metadata: dict | None
    thread_ts: str | None  # None for a top-level message, else the root's ts
    user: str
    updates: int = 0
    attachments: list | None = None
    reply_broadcast: bool = False
    bot_id: str | None = None
    files: list | None = None  # a file share (files.completeUploadExternal): the files as Slack lists them

    def to_dict(self, *, include_metadata: bool = True) -> dict:
        """The message as Slack's API (and an interaction payload) shows it."""
        d: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
        }
        if self.bot_id:
            d["bot_id"] = self.bot_id
            d["app_id"] = APP_ID
        if self.blocks:
            d["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            d["attachments"] = copy.deepcopy(self.attachments)
        if self.files:
            d["files"] = copy.deepcopy(self.files)
            d["upload"] = True
        if self.thread_ts:
            d["thread_ts"] = self.thread_ts
        if self.updates:
            d["edited"] = {"user": self.user, "ts": self.ts}
        if include_metadata and self.metadata is not None:
            d["metadata"] = copy.deepcopy(self.metadata)
        return d
