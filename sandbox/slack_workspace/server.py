"""A local stand-in for the Slack Web API, for tests and benchmarks.

``SlackStandin`` is a real HTTP server (werkzeug, threaded, 127.0.0.1, random
port) that answers the Web API methods gigdesk uses the way Slack does, keeps
the resulting workspace state (messages, threads, ephemerals, views, files)
and records every request it handled::

    standin = SlackStandin()
    client = WebClient(token=standin.token, base_url=standin.start())
    client.chat_postMessage(channel="C_REVIEW", text="hi")
    assert [m.text for m in standin.messages("C_REVIEW")] == ["hi"]
    standin.stop()

What it checks, like Slack:

* the token ("Authorization: Bearer …" header or ``token`` parameter),
  otherwise ``invalid_auth``; unknown methods answer ``unknown_method``;
* OAuth scopes: a method answers ``missing_scope`` unless the scopes granted
  (by default the bot scopes of the repository's ``manifest.yml``) cover it;
* channels exist and the bot is a member; messages and threads exist;
* documented argument limits (``ARGUMENT_LIMITS``: ``limit`` under 1000,
  40,000 characters of text, response URLs used at most 5 times within 30
  minutes, …) answer Slack's error for them (``invalid_limit``, …);
* Block Kit limits Slack enforces (50 blocks per message, 100 per view,
  3000 characters of section text, 75 of button text, unique block_ids, …)
  answer ``invalid_blocks`` / ``invalid_arguments`` with
  ``response_metadata.messages``;
* optional per-channel rate limit of ``chat.postMessage``: HTTP 429,
  ``Retry-After: <whole seconds ≥ 1>``, ``{"ok": false, "error": "ratelimited"}``.

``calls`` records every request, including the refused ones; each ``Call``
also carries the HTTP ``status`` and the ``error`` it was answered with, so
"posted exactly once" is best asserted on ``messages()``, not on
``calls_to("chat.postMessage")``.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import math
import re
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from sandbox.loopback import LoopbackServer

__all__ = ["Call", "Message", "SlackStandin", "bind_response_url", "DEFAULT_BOT_SCOPES", "PERMALINK_HOST"]

PERMALINK_HOST = "https://gigdesk-standin.slack.invalid"
APP_ID = "A0GIGDESK"

# Used when no scopes are given and manifest.yml cannot be read.
DEFAULT_BOT_SCOPES = (
    "chat:write",
    "commands",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "users:read",
    "files:read",
)

_MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")


class _ApiError(Exception):
    def __init__(self, error: str, *, status: int = 200, headers: dict | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra


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
        if self.thread_ts:
            d["thread_ts"] = self.thread_ts
        if self.updates:
            d["edited"] = {"user": self.user, "ts": self.ts}
        if include_metadata and self.metadata is not None:
            d["metadata"] = copy.deepcopy(self.metadata)
        return d


# --------------------------------------------------------------------------
# small helpers


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


def _manifest_bot_scopes() -> tuple[str, ...] | None:
    try:
        import yaml  # test dependency

        data = yaml.safe_load(_MANIFEST.read_text(encoding="utf-8"))
        scopes = data["oauth_config"]["scopes"]["bot"]
        if isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
            return tuple(scopes)
    except Exception:
        return None
    return None


def _real_name(user_id: str) -> str:
    core = re.sub(r"^[UW]_?", "", user_id)
    return " ".join(p.capitalize() for p in core.split("_") if p) or user_id


# --------------------------------------------------------------------------
# Block Kit checks (only limits Slack is known to enforce)


def _check_text_obj(obj: Any, where: str, *, max_len: int, plain_only: bool, required: bool, errs: list) -> None:
    if obj is None:
        if required:
            errs.append(f"missing required field: text [json-pointer:{where}]")
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn") or not isinstance(obj.get("text"), str):
        errs.append(f"must provide a text object [json-pointer:{where}]")
        return
    if plain_only and obj["type"] != "plain_text":
        errs.append(f"must be a plain_text text object [json-pointer:{where}/type]")
    n = len(obj["text"])
    if n < 1:
        errs.append(f"must be more than 0 characters [json-pointer:{where}/text]")
    if n > max_len:
        errs.append(f"must be less than {max_len + 1} characters [json-pointer:{where}/text]")


def _check_element(el: Any, where: str, errs: list) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"missing required field: type [json-pointer:{where}]")
        return
    aid = el.get("action_id")
    if aid is not None and (not isinstance(aid, str) or len(aid) > 255):
        errs.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    if el["type"] == "button":
        _check_text_obj(el.get("text"), f"{where}/text", max_len=75, plain_only=True, required=True, errs=errs)
        if "value" in el and (not isinstance(el["value"], str) or len(el["value"]) > 2000):
            errs.append(f"must be less than 2001 characters [json-pointer:{where}/value]")
        if "url" in el and (not isinstance(el["url"], str) or len(el["url"]) > 3000):
            errs.append(f"must be less than 3001 characters [json-pointer:{where}/url]")
        if el.get("style") not in (None, "primary", "danger"):
            errs.append(f"must be one of primary, danger [json-pointer:{where}/style]")
    confirm = el.get("confirm")
    if confirm is not None:
        if not isinstance(confirm, dict):
            errs.append(f"must be an object [json-pointer:{where}/confirm]")
        else:
            for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
                _check_text_obj(confirm.get(key), f"{where}/confirm/{key}", max_len=limit,
                                plain_only=key != "text", required=True, errs=errs)


def _check_blocks(blocks: Any, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errs: list[str] = []
    if len(blocks) > max_blocks:
        errs.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    seen: set[str] = set()
    for i, b in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            errs.append(f"missing required field: type [json-pointer:{where}]")
            continue
        bid = b.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not bid or len(bid) > 255:
                errs.append(f"must be 1..255 characters [json-pointer:{where}/block_id]")
            elif bid in seen:
                errs.append(f"duplicate block_id {bid!r} [json-pointer:{where}/block_id]")
            else:
                seen.add(bid)
        t = b["type"]
        if t == "section":
            text, fields = b.get("text"), b.get("fields")
            if text is None and not fields:
                errs.append(f"must provide either text or fields [json-pointer:{where}]")
            if text is not None:
                _check_text_obj(text, f"{where}/text", max_len=3000, plain_only=False, required=True, errs=errs)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errs.append(f"no more than 10 items allowed [json-pointer:{where}/fields]")
                else:
                    for j, f in enumerate(fields):
                        _check_text_obj(f, f"{where}/fields/{j}", max_len=2000, plain_only=False, required=True, errs=errs)
            if b.get("accessory") is not None:
                _check_element(b["accessory"], f"{where}/accessory", errs)
        elif t == "header":
            _check_text_obj(b.get("text"), f"{where}/text", max_len=150, plain_only=True, required=True, errs=errs)
        elif t == "image":
            if not b.get("image_url") and not b.get("slack_file"):
                errs.append(f"must provide image_url or slack_file [json-pointer:{where}]")
            if isinstance(b.get("image_url"), str) and len(b["image_url"]) > 3000:
                errs.append(f"must be less than 3001 characters [json-pointer:{where}/image_url]")
            alt = b.get("alt_text")
            if not isinstance(alt, str) or not alt:
                errs.append(f"missing required field: alt_text [json-pointer:{where}]")
            elif len(alt) > 2000:
                errs.append(f"must be less than 2001 characters [json-pointer:{where}/alt_text]")
            if b.get("title") is not None:
                _check_text_obj(b["title"], f"{where}/title", max_len=2000, plain_only=True, required=True, errs=errs)
        elif t == "actions":
            els = b.get("elements")
            if not isinstance(els, list) or not els or len(els) > 25:
                errs.append(f"must provide 1..25 elements [json-pointer:{where}/elements]")
            else:
                for j, el in enumerate(els):
                    _check_element(el, f"{where}/elements/{j}", errs)
        elif t == "context":
            els = b.get("elements")
            if not isinstance(els, list) or not els or len(els) > 10:
                errs.append(f"must provide 1..10 elements [json-pointer:{where}/elements]")
        elif t == "input":
            _check_text_obj(b.get("label"), f"{where}/label", max_len=2000, plain_only=True, required=True, errs=errs)
            if not isinstance(b.get("element"), dict):
                errs.append(f"missing required field: element [json-pointer:{where}]")
            else:
                _check_element(b["element"], f"{where}/element", errs)
    return errs


def _check_view(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errs: list[str] = []
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        errs.append("must be one of modal, home [json-pointer:/view/type]")
    if vtype == "modal":
        _check_text_obj(view.get("title"), "/view/title", max_len=24, plain_only=True, required=True, errs=errs)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            _check_text_obj(view[key], f"/view/{key}", max_len=24, plain_only=True, required=True, errs=errs)
    blocks = view.get("blocks")
    if blocks is None:
        errs.append("missing required field: blocks [json-pointer:/view]")
    else:
        errs += [e.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")
                 for e in _check_blocks(blocks, _limit("views.open", "blocks"))]
        if vtype == "modal" and isinstance(blocks, list) and view.get("submit") is None and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        ):
            errs.append("submit is required when an input block is present [json-pointer:/view/submit]")
    pm = view.get("private_metadata")
    if pm is not None and (not isinstance(pm, str) or len(pm) > _limit("views.open", "private_metadata")):
        errs.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    cb = view.get("callback_id")
    if cb is not None and (not isinstance(cb, str) or len(cb) > _limit("views.open", "callback_id")):
        errs.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    ext = view.get("external_id")
    if ext is not None and (not isinstance(ext, str) or len(ext) > _limit("views.open", "external_id")):
        errs.append("must be less than 256 characters [json-pointer:/view/external_id]")
    return errs


# --------------------------------------------------------------------------


class _Request(Request):
    max_form_memory_size = 20 * 1024 * 1024  # Slack accepts big form bodies (blocks as JSON strings)
    max_form_parts = 10_000


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # no access log
        pass


_LIVE: weakref.WeakSet[SlackStandin] = weakref.WeakSet()  # running stand-ins

_METHOD_SCOPES: dict[str, tuple[str, ...] | str | None] = {
    "auth.test": None,
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": None,
    "conversations.history": "history",
    "conversations.replies": "history",
    "conversations.members": "read",
    "conversations.info": "read",
    "users.info": ("users:read",),
    "views.open": None,
    "views.push": None,
    "views.update": None,
    "views.publish": None,
    "files.info": ("files:read",),
    "files.download": ("files:read",),
}


def bind_response_url(url: str, *, channel: str | None, user: str | None, message_ts: str | None = None) -> bool:
    """Bind ``url`` to the interaction it is sent with, if it is an unbound
    response URL of a running stand-in (see SlackStandin.response_url)."""
    for standin in list(_LIVE):
        if standin.bind_response_url(url, channel=channel, user=user, message_ts=message_ts):
            return True
    return False


class SlackStandin:
    """A local Slack Web API (see the module docstring)."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        team_id: str = "T0GIGDESK",
        bot_user_id: str = "UBOT",
        channels: dict[str, list[str]] | None = None,
        post_rate: float | None = None,
        post_burst: int = 5,
        scopes: Iterable[str] | None = None,
    ):
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + (bot_user_id[1:] if bot_user_id[:1] in ("U", "W") else bot_user_id)
        if channels is None:
            members = ["U_ALICE", "U_BOB", bot_user_id]
            channels = {"C_REVIEW": list(members), "C_DIGEST": list(members), "C_WONOLO": list(members)}
        self._initial_channels = {c: list(m) for c, m in channels.items()}
        if post_rate is not None and post_rate <= 0:
            raise ValueError("post_rate must be positive")
        if post_burst < 1:
            raise ValueError("post_burst must be >= 1")
        self.post_rate = post_rate
        self.post_burst = post_burst
        if scopes is None:
            scopes = _manifest_bot_scopes() or DEFAULT_BOT_SCOPES
        self.scopes: tuple[str, ...] = tuple(scopes)

        self.api_url: str | None = None
        self.url: str | None = None
        self._loop = LoopbackServer(self._wsgi, name="slack-standin", request_handler=_QuietHandler)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._init_state()

    # ------------------------------------------------------------------ state

    def _init_state(self) -> None:
        self.calls: list[Call] = []
        self._channels: dict[str, list[str]] = {c: list(m) for c, m in self._initial_channels.items()}
        self._messages: dict[str, dict[str, Message]] = {}
        self._ephemerals: list[dict] = []
        self._hook_posts: list[dict] = []
        self._hooks: dict[str, dict] = {}
        self._views_log: list[dict] = []
        self._views: dict[str, dict] = {}
        self._home: dict[str, str] = {}
        self._files: dict[str, dict] = {}
        self._users: dict[str, dict] = {}
        self._failures: dict[str, deque] = {}
        self._holds: dict[str, deque] = {}
        self._held: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._last_us = 0

    def reset(self) -> None:
        """Back to a fresh workspace: channels as constructed, no messages,
        calls, ephemerals, views, files, response URLs or pending failures."""
        with self._lock:
            self._init_state()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> str:
        if self._loop.running:
            return self.api_url  # type: ignore[return-value]
        self.url = self._loop.start("127.0.0.1", 0) + "/"
        self.api_url = f"{self.url}api/"
        _LIVE.add(self)
        return self.api_url

    def stop(self) -> None:
        if not self._loop.running:
            return
        _LIVE.discard(self)
        self._loop.stop()

    def __enter__(self) -> SlackStandin:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------ test-side helpers

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str, *, include_replies: bool = True) -> list[Message]:
        """Current messages of the channel, oldest first (copies)."""
        with self._lock:
            msgs = list(self._messages.get(channel, {}).values())
            if not include_replies:
                msgs = [m for m in msgs if m.thread_ts is None or m.reply_broadcast]
            return [copy.deepcopy(m) for m in sorted(msgs, key=lambda m: _dec(m.ts))]

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            try:
                return copy.deepcopy(self._messages[channel][ts])
            except KeyError:
                raise LookupError(f"no message {ts} in {channel}") from None

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The thread's root message first, then its replies oldest first
        (like conversations.replies); ``ts`` may be the root or any reply."""
        with self._lock:
            root = self._thread_root(channel, ts)
            if root is None:
                return []
            return [copy.deepcopy(m) for m in self._thread_messages(channel, root)]

    def ephemerals(self, user: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._ephemerals if user is None or e.get("user") == user]

    def responses(self, name: str | None = None) -> list[dict]:
        """Every payload POSTed to a response URL (in_channel ones too), with
        the hook's ``name``, ``channel`` and ``user``."""
        with self._lock:
            return [copy.deepcopy(p) for p in self._hook_posts if name is None or p["name"] == name]

    def response_url(
        self, name: str = "", *, channel: str | None = None, user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A fresh response URL.  ``channel``/``user`` say where the
        interaction happened (in_channel responses are posted to ``channel``,
        ephemeral ones are recorded for ``user``); with ``message_ts`` the URL
        belongs to that message, so ``replace_original`` / ``delete_original``
        act on it, as for a button click.

        Left unset, they are taken from the first request body built with this
        URL by tests/support/slack_requests.py (its channel_id, user_id and,
        for a click on a channel message, message_ts), else C_REVIEW/U_ALICE."""
        if self.url is None:
            raise RuntimeError("start() the stand-in first")
        with self._lock:
            hook_id = f"{next(self._ids):06d}{name and '-' + re.sub(r'[^A-Za-z0-9_-]', '_', name)}"
            explicit = channel is not None or user is not None or message_ts is not None
            self._hooks[hook_id] = {"name": name, "channel": channel or "C_REVIEW", "user": user or "U_ALICE",
                                    "message_ts": message_ts, "uses": 0, "bound": explicit,
                                    "issued_at": time.time()}
        return f"{self.url}hooks/{hook_id}"

    def bind_response_url(self, url: str, *, channel: str | None, user: str | None,
                          message_ts: str | None = None) -> bool:
        """Attach where an interaction happened to a response URL created
        without it; returns False if the URL is not an unbound hook of this
        stand-in.  (Called by the request builders.)"""
        if self.url is None or not url.startswith(f"{self.url}hooks/"):
            return False
        with self._lock:
            hook = self._hooks.get(url[len(f"{self.url}hooks/"):])
            if hook is None or hook["bound"]:
                return False
            hook.update(channel=channel or hook["channel"], user=user or hook["user"],
                        message_ts=message_ts, bound=True)
            return True

    def views(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._views_log)

    def add_file(self, file_id: str, content: bytes, name: str = "image.png", mimetype: str = "image/png") -> None:
        with self._lock:
            self._files[file_id] = {"content": bytes(content), "name": name, "mimetype": mimetype, "created": int(time.time())}

    def add_user(self, user_id: str, *, real_name: str | None = None, tz: str = "America/New_York",
                 email: str | None = None, guest: str | None = None) -> None:
        """``guest``: None (a full member), "multi" (is_restricted) or "single" (is_ultra_restricted)."""
        if guest not in (None, "multi", "single"):
            raise ValueError("guest must be None, 'multi' or 'single'")
        with self._lock:
            self._users[user_id] = {"real_name": real_name or _real_name(user_id), "tz": tz, "email": email,
                                    "guest": guest}

    def fail_next(self, method: str, *, error: str = "internal_error", status: int = 200,
                  retry_after: int | None = None, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` (after the token check) answer
        ``{"ok": false, "error": error}`` with ``status`` and change nothing.
        ``method`` may also be "response_url" or "files.download" (plain-text
        answer; status 200 there means 500)."""
        with self._lock:
            q = self._failures.setdefault(method, deque())
            for _ in range(count):
                q.append((error, status, retry_after))

    def hold(self, method: str, seconds: float, *, after_store: bool = True, skip: int = 0) -> None:
        """Hold one coming call of ``method`` for up to ``seconds`` (the
        ``skip`` calls of it before that one are answered at once), to let a
        test kill the client at a precise moment.

        ``after_store=True``: the call takes effect (a message is stored),
        then the answer waits: a client killed meanwhile never learns that it
        succeeded.  ``after_store=False``: the call waits before it is
        handled, and is dropped unhandled if the client went away meanwhile,
        as if it had never reached Slack.  Either way the wait ends early once
        the client has gone.  See holding()."""
        with self._lock:
            self._holds.setdefault(method, deque()).append([int(skip), float(seconds), bool(after_store)])

    def holding(self, method: str | None = None) -> int:
        """How many calls (of ``method``) are being held right now."""
        with self._lock:
            return sum(n for m, n in self._held.items() if method is None or m == method)

    def set_members(self, channel: str, users: Iterable[str]) -> None:
        with self._lock:
            self._channels[channel] = list(users)

    # ------------------------------------------------------------- internals

    def _new_ts(self) -> str:
        us = max(int(time.time() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _channel(self, args: dict, key: str = "channel") -> str:
        ch = args.get(key)
        if not ch or ch not in self._channels:
            raise _ApiError("channel_not_found")
        return ch

    def _bot_in(self, ch: str) -> None:
        if self.bot_user_id not in self._channels[ch]:
            raise _ApiError("not_in_channel")

    def _thread_root(self, channel: str, ts: str) -> str | None:
        m = self._messages.get(channel, {}).get(ts)
        if m is None:
            return None
        return m.thread_ts or m.ts

    def _thread_messages(self, channel: str, root: str) -> list[Message]:
        msgs = self._messages.get(channel, {})
        out = [m for m in msgs.values() if m.ts == root or m.thread_ts == root]
        return sorted(out, key=lambda m: (m.ts != root, _dec(m.ts)))

    def _api_message(self, m: Message, *, include_metadata: bool) -> dict:
        d = m.to_dict(include_metadata=include_metadata)
        if m.thread_ts is None:
            replies = [r for r in self._messages.get(m.channel, {}).values() if r.thread_ts == m.ts]
            if replies:
                d["thread_ts"] = m.ts
                d["reply_count"] = len(replies)
                d["reply_users"] = sorted({r.user for r in replies})
                d["reply_users_count"] = len(d["reply_users"])
                d["latest_reply"] = max((r.ts for r in replies), key=_dec)
        else:
            root = self._messages.get(m.channel, {}).get(m.thread_ts)
            if root is not None:
                d["parent_user_id"] = root.user
        return d

    def _check_message_content(self, args: dict, method: str, *, require: bool = True) -> None:
        text, blocks, atts = args.get("text"), args.get("blocks"), args.get("attachments")
        if require and not text and not blocks and not atts:
            raise _ApiError("no_text")
        if text is not None and not isinstance(text, str):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] text must be a string"]})
        max_text, too_long = ARGUMENT_LIMITS[method]["text"]
        if isinstance(text, str) and len(text) > max_text:
            raise _ApiError(too_long)
        if blocks is not None:
            max_blocks, invalid = ARGUMENT_LIMITS[method]["blocks"]
            errs = _check_blocks(blocks, max_blocks)
            if errs:
                raise _ApiError(invalid, response_metadata={"messages": [f"[ERROR] {e}" for e in errs]})
        if atts is not None and not isinstance(atts, list):
            raise _ApiError("invalid_attachments")
        md = args.get("metadata")
        if md is not None:
            if not (isinstance(md, dict) and isinstance(md.get("event_type"), str) and md["event_type"]
                    and isinstance(md.get("event_payload", {}), dict)):
                raise _ApiError("invalid_metadata_format")

    def _take_post_token(self, channel: str) -> float | None:
        """Token bucket per channel; returns seconds to wait when empty."""
        assert self.post_rate is not None
        now = time.monotonic()
        tokens, last = self._buckets.get(channel, (float(self.post_burst), now))
        tokens = min(float(self.post_burst), tokens + (now - last) * self.post_rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        return (1.0 - tokens) / self.post_rate

    def _take_hold(self, method: str):
        with self._lock:
            q = self._holds.get(method)
            if not q:
                return None
            if q[0][0] > 0:
                q[0][0] -= 1
                return None
            _, seconds, after_store = q.popleft()
            return seconds, after_store

    @staticmethod
    def _client_gone(request: Request) -> bool:
        sock = request.environ.get("werkzeug.socket")
        if sock is None:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _wait_held(self, method: str, request: Request, seconds: float) -> bool:
        """Wait up to ``seconds``; True when the client went away meanwhile."""
        with self._lock:
            self._held[method] = self._held.get(method, 0) + 1
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if self._client_gone(request):
                    return True
                time.sleep(0.02)
            return False
        finally:
            with self._lock:
                self._held[method] -= 1

    def _pop_failure(self, method: str):
        q = self._failures.get(method)
        if q:
            return q.popleft()
        return None

    @staticmethod
    def _failure_error(f) -> _ApiError:
        error, status, retry_after = f
        headers = {}
        if retry_after is not None:
            headers["retry-after"] = str(max(0, int(retry_after)))
        elif status == 429:
            headers["retry-after"] = "1"
        return _ApiError(error, status=status, headers=headers)

    def _needed_scopes(self, method: str, args: dict) -> tuple[str, ...] | None:
        need = _METHOD_SCOPES.get(method)
        if isinstance(need, str):
            private = str(args.get("channel", "")).startswith("G")
            family = "groups" if private else "channels"
            return (f"{family}:{need}",)
        return need

    # ------------------------------------------------------------------- WSGI

    def _wsgi(self, environ, start_response):
        request = _Request(environ)
        path = request.path
        try:
            if path.startswith("/api/"):
                response = self._api(request, path[len("/api/"):])
            elif path.startswith("/hooks/"):
                response = self._hook(request, path[len("/hooks/"):])
            elif path.startswith("/files-pri/"):
                response = self._download(request, path[len("/files-pri/"):])
            else:
                response = Response("not found", status=404, mimetype="text/plain")
        except Exception as exc:  # a bug in the stand-in must be visible, not a hang
            response = Response(json.dumps({"ok": False, "error": "standin_bug", "detail": repr(exc)}),
                                status=500, mimetype="application/json")
        return response(environ, start_response)

    @staticmethod
    def _parse_args(request: Request) -> dict:
        args: dict[str, Any] = request.args.to_dict()
        if request.method == "POST":
            if request.mimetype == "application/json":
                raw = request.get_data()
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise _ApiError("invalid_json") from None
                    if not isinstance(body, dict):
                        raise _ApiError("invalid_json")
                    args.update(body)
            else:
                args.update(request.form.to_dict())
        for key in _JSON_FIELDS:
            v = args.get(key)
            if isinstance(v, str) and v.strip()[:1] in ("[", "{"):
                try:
                    args[key] = json.loads(v)
                except ValueError:
                    pass
        return args

    @staticmethod
    def _json(payload: dict, status: int = 200, headers: dict | None = None) -> Response:
        resp = Response(json.dumps(payload), status=status, content_type="application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp

    def _api(self, request: Request, method: str) -> Response:
        hold = self._take_hold(method)
        if hold is None:
            return self._api_call(request, method)
        seconds, after_store = hold
        request.get_data()  # read the whole body first: only then does a closed socket read as gone
        if not after_store and self._wait_held(method, request, seconds):
            with self._lock:
                self.calls.append(Call(method=method, args={}, time=time.time(), token=None, error="client_gone"))
            return Response(b"", status=499)
        response = self._api_call(request, method)
        if after_store:
            self._wait_held(method, request, seconds)
        return response

    def _api_call(self, request: Request, method: str) -> Response:
        header_token = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            header_token = auth[len("Bearer "):].strip()
        try:
            args = self._parse_args(request)
        except _ApiError as e:
            args, parse_error = {}, e
        else:
            parse_error = None
        param_token = args.pop("token", None)
        token = header_token or (param_token if isinstance(param_token, str) else None)

        with self._lock:
            call = Call(method=method, args=args, time=time.time(), token=token)
            self.calls.append(call)
            headers = {"x-oauth-scopes": ",".join(self.scopes)}  # Slack sends lower-case names
            try:
                if parse_error is not None:
                    raise parse_error
                if token != self.token:
                    raise _ApiError("invalid_auth")
                handler = getattr(self, "_m_" + method.replace(".", "_"), None)
                if handler is None or method not in _METHOD_SCOPES or method == "files.download":
                    raise _ApiError("unknown_method", req_method=method)
                need = self._needed_scopes(method, args)
                if need and not any(s in self.scopes for s in need):
                    raise _ApiError("missing_scope", needed=",".join(need), provided=",".join(self.scopes))
                f = self._pop_failure(method)
                if f is not None:
                    raise self._failure_error(f)
                if method == "chat.postMessage" and self.post_rate is not None:
                    wait = self._take_post_token(str(args.get("channel")))
                    if wait is not None:
                        raise _ApiError("ratelimited", status=429,
                                        headers={"retry-after": str(max(1, math.ceil(wait)))})
                payload = handler(args)
                payload = {"ok": True, **payload}
                call.status, call.ok = 200, True
                return self._json(payload, 200, headers)
            except _ApiError as e:
                call.status, call.ok, call.error = e.status, False, e.error
                headers.update(e.headers)
                return self._json({"ok": False, "error": e.error, **e.extra}, e.status, headers)

    # ---------------------------------------------------------------- methods

    def _m_auth_test(self, args: dict) -> dict:
        return {
            "url": f"{PERMALINK_HOST}/",
            "team": "gigdesk",
            "user": "gigdesk",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        self._check_message_content(args, "chat.postMessage")
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None:
            thread_ts = self._thread_root(ch, str(thread_ts))  # unknown thread: posted top-level, as Slack does
        m = Message(
            channel=ch,
            ts=self._new_ts(),
            text=args.get("text") or "",
            blocks=copy.deepcopy(args.get("blocks")) or [],
            metadata=copy.deepcopy(args.get("metadata")),
            thread_ts=thread_ts,
            user=self.bot_user_id,
            attachments=copy.deepcopy(args.get("attachments")),
            reply_broadcast=bool(thread_ts) and _truthy(args.get("reply_broadcast")),
            bot_id=self.bot_id,
        )
        self._messages.setdefault(ch, {})[m.ts] = m
        return {"channel": ch, "ts": m.ts, "message": self._api_message(m, include_metadata=True)}

    def _find(self, args: dict, ts_key: str = "ts") -> Message:
        ch = self._channel(args)
        m = self._messages.get(ch, {}).get(str(args.get(ts_key)))
        if m is None:
            raise _ApiError("message_not_found")
        return m

    def _m_chat_update(self, args: dict) -> dict:
        m = self._find(args)
        self._check_message_content(args, "chat.update", require=True)
        if "text" in args:
            m.text = args.get("text") or ""
        if "blocks" in args:  # not given: previous blocks are kept, [] removes them
            m.blocks = copy.deepcopy(args["blocks"]) or []
        if "attachments" in args:
            m.attachments = copy.deepcopy(args["attachments"])
        if args.get("metadata") is not None:
            m.metadata = copy.deepcopy(args["metadata"])
        m.updates += 1
        return {"channel": m.channel, "ts": m.ts, "text": m.text,
                "message": self._api_message(m, include_metadata=True)}

    def _m_chat_delete(self, args: dict) -> dict:
        m = self._find(args)
        del self._messages[m.channel][m.ts]
        return {"channel": m.channel, "ts": m.ts}

    def _m_chat_postEphemeral(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        user = args.get("user")
        if not user:
            raise _ApiError("user_not_found")
        if user not in self._channels[ch]:
            raise _ApiError("user_not_in_channel")
        self._check_message_content(args, "chat.postEphemeral")
        ts = self._new_ts()
        self._ephemerals.append({
            "text": args.get("text") or "",
            "blocks": copy.deepcopy(args.get("blocks")) or [],
            "user": user,
            "channel": ch,
            "via": "postEphemeral",
            "replace_original": False,
            "delete_original": False,
            "thread_ts": args.get("thread_ts"),
            "ts": ts,
        })
        return {"message_ts": ts}

    def _m_chat_getPermalink(self, args: dict) -> dict:
        m = self._find(args, "message_ts")
        link = f"{PERMALINK_HOST}/archives/{m.channel}/p{m.ts.replace('.', '')}"
        if m.thread_ts:
            link += f"?thread_ts={m.thread_ts}&cid={m.channel}"
        return {"channel": m.channel, "permalink": link}

    def _window(self, msgs: list[Message], args: dict) -> list[Message]:
        inclusive = _truthy(args.get("inclusive"))
        oldest = args.get("oldest")
        latest = args.get("latest")
        out = []
        for m in msgs:
            t = _dec(m.ts)
            if oldest not in (None, "") and (t < _dec(oldest) or (t == _dec(oldest) and not inclusive)):
                continue
            if latest not in (None, "") and (t > _dec(latest) or (t == _dec(latest) and not inclusive)):
                continue
            out.append(m)
        return out

    def _m_conversations_history(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        with_md = _truthy(args.get("include_all_metadata"))
        limit = _int_arg(args, "limit", 100, "conversations.history")
        msgs = [m for m in self._messages.get(ch, {}).values() if m.thread_ts is None or m.reply_broadcast]
        msgs = sorted(self._window(msgs, args), key=lambda m: _dec(m.ts), reverse=True)
        if args.get("cursor"):
            start = _dec(_uncursor("next_ts", str(args["cursor"])))
            msgs = [m for m in msgs if _dec(m.ts) <= start]
        page, rest = msgs[:limit], msgs[limit:]
        return {
            "messages": [self._api_message(m, include_metadata=with_md) for m in page],
            "has_more": bool(rest),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": _cursor("next_ts", rest[0].ts) if rest else ""},
        }

    def _m_conversations_replies(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        root = self._thread_root(ch, str(args.get("ts")))
        if root is None:
            raise _ApiError("thread_not_found")
        with_md = _truthy(args.get("include_all_metadata"))
        limit = _int_arg(args, "limit", 1000, "conversations.replies")
        msgs = self._thread_messages(ch, root)
        parent, replies = msgs[0], self._window(msgs[1:], args)
        items = [parent] + replies
        if args.get("cursor"):
            start = _dec(_uncursor("next_ts", str(args["cursor"])))
            items = [m for m in replies if _dec(m.ts) >= start]
        page, rest = items[:limit], items[limit:]
        return {
            "messages": [self._api_message(m, include_metadata=with_md) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": _cursor("next_ts", rest[0].ts) if rest else ""},
        }

    def _m_conversations_members(self, args: dict) -> dict:
        ch = self._channel(args)
        members = list(self._channels[ch])
        limit = _int_arg(args, "limit", 100, "conversations.members")
        start = 0
        if args.get("cursor"):
            after = _uncursor("user", str(args["cursor"]))
            if after not in members:
                raise _ApiError("invalid_cursor")
            start = members.index(after)
        page, rest = members[start:start + limit], members[start + limit:]
        return {"members": page, "response_metadata": {"next_cursor": _cursor("user", rest[0]) if rest else ""}}

    def _m_conversations_info(self, args: dict) -> dict:
        ch = self._channel(args)
        info = {
            "id": ch,
            "name": re.sub(r"^[CG]_?", "", ch).lower() or ch.lower(),
            "is_channel": not ch.startswith("G"),
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": ch.startswith("G"),
            "is_archived": False,
            "is_general": False,
            "is_member": self.bot_user_id in self._channels[ch],
            "created": 1700000000,
            "creator": "U_ALICE",
        }
        if _truthy(args.get("include_num_members")):
            info["num_members"] = len(self._channels[ch])
        return {"channel": info}

    def _m_users_info(self, args: dict) -> dict:
        uid = str(args.get("user") or "")
        if not re.fullmatch(r"[UW][A-Z0-9_]+", uid):
            raise _ApiError("user_not_found")
        extra = self._users.get(uid, {})
        real = extra.get("real_name") or ("gigdesk" if uid == self.bot_user_id else _real_name(uid))
        tz = extra.get("tz", "America/New_York")
        profile = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": real.split(" ")[0].lower(),
            "display_name_normalized": real.split(" ")[0].lower(),
            "image_48": f"{PERMALINK_HOST}/avatars/{uid}_48.png",
            "team": self.team_id,
        }
        if extra.get("email"):
            profile["email"] = extra["email"]
        user = {
            "id": uid,
            "team_id": self.team_id,
            "name": real.split(" ")[0].lower(),
            "real_name": real,
            "deleted": False,
            "is_bot": uid == self.bot_user_id,
            "is_admin": False,
            "is_owner": False,
            "is_app_user": False,
            "is_restricted": extra.get("guest") is not None,
            "is_ultra_restricted": extra.get("guest") == "single",
            "tz": tz,
            "tz_label": "Eastern Standard Time" if tz == "America/New_York" else tz,
            "tz_offset": -18000 if tz == "America/New_York" else 0,
            "profile": profile,
            "updated": 1700000000,
        }
        return {"user": user}

    # views

    def _validate_view(self, view: Any) -> dict:
        errs = _check_view(view)
        if errs:
            raise _ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errs]})
        return view

    def _store_view(self, view: dict, *, view_id: str | None = None, root: str | None = None,
                    previous: str | None = None) -> dict:
        view_id = view_id or self._new_id("V")
        full = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._ids):08x}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = full
        return full

    def _log_view(self, method: str, args: dict, result: dict) -> None:
        self._views_log.append({
            "method": method,
            "view": copy.deepcopy(args.get("view")),
            "trigger_id": args.get("trigger_id"),
            "user_id": args.get("user_id"),
            "view_id": args.get("view_id"),
            "id": result["id"],
        })

    def _m_views_open(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]})
        view = self._validate_view(args.get("view"))
        if view.get("type") != "modal":
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] must be modal [json-pointer:/view/type]"]})
        full = self._store_view(view)
        self._log_view("views.open", args, full)
        return {"view": copy.deepcopy(full)}

    def _m_views_push(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]})
        view = self._validate_view(args.get("view"))
        full = self._store_view(view)
        self._log_view("views.push", args, full)
        return {"view": copy.deepcopy(full)}

    def _m_views_update(self, args: dict) -> dict:
        view = self._validate_view(args.get("view"))
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((v["id"] for v in self._views.values() if v["external_id"] == args["external_id"]), None)
        old = self._views.get(view_id) if view_id else None
        if old is None:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        full = self._store_view(view, view_id=old["id"], root=old["root_view_id"], previous=old["previous_view_id"])
        self._log_view("views.update", args, full)
        return {"view": copy.deepcopy(full)}

    def _m_views_publish(self, args: dict) -> dict:
        user = str(args.get("user_id") or "")
        if not re.fullmatch(r"[UW][A-Z0-9_]+", user):
            raise _ApiError("user_not_found")
        view = self._validate_view(args.get("view"))
        if view.get("type") != "home":
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] must be home [json-pointer:/view/type]"]})
        old = self._views.get(self._home.get(user, ""))
        if old is not None and args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        full = self._store_view(view, view_id=old["id"] if old else None)
        self._home[user] = full["id"]
        self._log_view("views.publish", args, full)
        return {"view": copy.deepcopy(full)}

    # files

    def _file_urls(self, file_id: str, name: str) -> tuple[str, str]:
        base = f"{self.url}files-pri/{self.team_id}-{file_id}"
        return f"{base}/{name}", f"{base}/download/{name}"

    def _m_files_info(self, args: dict) -> dict:
        fid = str(args.get("file") or "")
        f = self._files.get(fid)
        if f is None:
            raise _ApiError("file_not_found")
        url_private, url_download = self._file_urls(fid, f["name"])
        ext = f["name"].rsplit(".", 1)[-1].lower() if "." in f["name"] else "binary"
        return {
            "file": {
                "id": fid,
                "created": f["created"],
                "timestamp": f["created"],
                "name": f["name"],
                "title": f["name"],
                "mimetype": f["mimetype"],
                "filetype": ext,
                "pretty_type": ext.upper(),
                "user": "U_ALICE",
                "mode": "hosted",
                "editable": False,
                "is_external": False,
                "external_type": "",
                "is_public": False,
                "size": len(f["content"]),
                "url_private": url_private,
                "url_private_download": url_download,
                "permalink": f"{PERMALINK_HOST}/files/U_ALICE/{fid}/{f['name']}",
            },
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _download(self, request: Request, rest: str) -> Response:
        # <team>-<file_id>/[download/]<name>
        m = re.fullmatch(r"([^/-]+)-([^/]+)/(?:download/)?[^/]+", rest)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
        with self._lock:
            call = Call(method="files.download", args={"path": rest, "file": m.group(2) if m else None},
                        time=time.time(), token=token)
            self.calls.append(call)
            if token != self.token:
                call.status, call.ok, call.error = 401, False, "invalid_auth"
                return Response("Unauthorized", status=401, mimetype="text/plain")
            if "files:read" not in self.scopes:
                call.status, call.ok, call.error = 403, False, "missing_scope"
                return Response("Forbidden", status=403, mimetype="text/plain")
            f = self._pop_failure("files.download")
            if f is not None:
                call.status, call.ok, call.error = f[1], False, f[0]
                return Response(f[0], status=f[1] if f[1] != 200 else 500, mimetype="text/plain")
            if m is None or m.group(1) != self.team_id or m.group(2) not in self._files:
                call.status, call.ok, call.error = 404, False, "file_not_found"
                return Response("Not Found", status=404, mimetype="text/plain")
            data = self._files[m.group(2)]
            call.status, call.ok = 200, True
            return Response(data["content"], status=200, mimetype=data["mimetype"])

    # response URLs

    def _hook(self, request: Request, hook_id: str) -> Response:
        if request.method != "POST":
            return Response("method not allowed", status=405, mimetype="text/plain")
        raw = request.get_data()
        try:
            payload = json.loads(raw) if request.mimetype == "application/json" else json.loads(
                request.form.get("payload", ""))
        except ValueError:
            payload = None
        with self._lock:
            hook = self._hooks.get(hook_id)
            call = Call(method="response_url", args=payload if isinstance(payload, dict) else {"_raw": raw.decode("utf-8", "replace")},
                        time=time.time(), token=None)
            self.calls.append(call)

            def answer(status: int, error: str | None) -> Response:
                call.status, call.ok, call.error = status, status == 200, error
                return Response(error or "ok", status=status, mimetype="text/plain")

            if hook is None:
                return answer(404, "no_service")
            f = self._pop_failure("response_url")
            if f is not None:
                return answer(f[1] if f[1] != 200 else 500, f[0])
            max_age, expired = ARGUMENT_LIMITS["response_url"]["age_seconds"]
            if time.time() - hook["issued_at"] > max_age:
                return answer(404, expired)
            max_uses, used = ARGUMENT_LIMITS["response_url"]["uses"]
            if hook["uses"] >= max_uses:
                return answer(404, used)
            if not isinstance(payload, dict):
                return answer(400, "invalid_payload")
            for key in _JSON_FIELDS:
                v = payload.get(key)
                if isinstance(v, str) and v.strip()[:1] in ("[", "{"):
                    try:
                        payload[key] = json.loads(v)
                    except ValueError:
                        pass
            replace = _truthy(payload.get("replace_original"))
            delete = _truthy(payload.get("delete_original"))
            in_channel = payload.get("response_type") == "in_channel"
            if not delete and not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
                return answer(400, "no_text")
            max_blocks, invalid = ARGUMENT_LIMITS["response_url"]["blocks"]
            if payload.get("blocks") is not None and _check_blocks(payload["blocks"], max_blocks):
                return answer(400, invalid)
            hook["uses"] += 1
            record = {
                "name": hook["name"], "channel": hook["channel"], "user": hook["user"],
                "message_ts": hook["message_ts"], "payload": copy.deepcopy(payload),
            }
            self._hook_posts.append(record)

            original = None
            if hook["channel"] and hook["message_ts"]:
                original = self._messages.get(hook["channel"], {}).get(hook["message_ts"])
            if delete:
                if original is not None:
                    del self._messages[original.channel][original.ts]
            elif replace and original is not None:
                if "text" in payload:
                    original.text = payload.get("text") or ""
                original.blocks = copy.deepcopy(payload.get("blocks")) or []
                if "attachments" in payload:
                    original.attachments = copy.deepcopy(payload["attachments"])
                original.updates += 1
            elif in_channel and hook["channel"] in self._channels:
                m = Message(channel=hook["channel"], ts=self._new_ts(), text=payload.get("text") or "",
                            blocks=copy.deepcopy(payload.get("blocks")) or [], metadata=None,
                            thread_ts=self._thread_root(hook["channel"], str(payload.get("thread_ts")))
                            if payload.get("thread_ts") else None,
                            user=self.bot_user_id, attachments=copy.deepcopy(payload.get("attachments")),
                            bot_id=self.bot_id)
                self._messages.setdefault(m.channel, {})[m.ts] = m
            if not in_channel:
                self._ephemerals.append({
                    "text": payload.get("text") or "",
                    "blocks": copy.deepcopy(payload.get("blocks")) or [],
                    "user": hook["user"],
                    "channel": hook["channel"],
                    "via": "response_url",
                    "replace_original": replace,
                    "delete_original": delete,
                    "thread_ts": payload.get("thread_ts"),
                    "name": hook["name"],
                })
            return answer(200, None)
