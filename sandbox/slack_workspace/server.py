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
  the app-level token (``app_token``, ``xapp-…``) is good for
  ``apps.connections.open`` only and the bot token never for it
  (``not_allowed_token_type``);
* Socket Mode (``socket_mode``, sandbox/slack_workspace/socket_mode.py):
  ``apps.connections.open`` answers a one-time ``ws://127.0.0.1:…`` URL,
  and deliveries go to the app as envelopes it must acknowledge;
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

Faults a test can ask for: ``fail_next`` (an error answer, nothing changed),
``hold`` (a call held before or after it takes effect) and
``drop_after_store`` (the call takes effect, then the connection is closed
without an answer).

``/_deliver`` sends a signed interaction on to the app as Slack would, and
records when (see delivery.py): click-to-update times on one clock.

``calls`` records every request, including the refused ones; each ``Call``
also carries the HTTP ``status`` and the ``error`` it was answered with, so
"posted exactly once" is best asserted on ``messages()``, not on
``calls_to("chat.postMessage")``.
"""

from __future__ import annotations

import contextlib
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
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from sandbox.loopback import LoopbackServer
from sandbox.slack_workspace.arguments import _JSON_FIELDS, _ApiError, _dec
from sandbox.slack_workspace.block_kit import record_block_kit
from sandbox.slack_workspace.delivery import InteractionDelivery
from sandbox.slack_workspace.files import FileMethods
from sandbox.slack_workspace.methods import WebApiMethods, _real_name
from sandbox.slack_workspace.records import Call, Delivery, Message
from sandbox.slack_workspace.response_urls import ResponseUrls
from sandbox.slack_workspace.socket_mode import SocketModeServer
from sandbox.slack_workspace.views import ViewMethods

__all__ = ["SlackStandin", "bind_response_url", "DEFAULT_BOT_SCOPES"]


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
    "files:write",
    "im:write",
)

_MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


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
    "conversations.list": ("channels:read", "groups:read"),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "views.open": None,
    "views.push": None,
    "views.update": None,
    "views.publish": None,
    "files.info": ("files:read",),
    "files.download": ("files:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    # A bot opens a 1:1 direct message with im:write (mpim:write, channels:manage or groups:write
    # open other kinds of conversation).
    "conversations.open": ("im:write",),
    "apps.connections.open": None,  # the app-level token's scope, connections:write
}
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def bind_response_url(url: str, *, channel: str | None, user: str | None, message_ts: str | None = None) -> bool:
    """Bind ``url`` to the interaction it is sent with, if it is an unbound
    response URL of a running stand-in (see SlackStandin.response_url)."""
    for standin in list(_LIVE):
        if standin.bind_response_url(url, channel=channel, user=user, message_ts=message_ts):
            return True
    return False


class SlackStandin(WebApiMethods, ViewMethods, FileMethods, ResponseUrls, InteractionDelivery):
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
        app_token: str = "xapp-1-A0GIGDESK-1-standin",
    ):
        self.token = token
        self.app_token = app_token
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
        # Started by the first apps.connections.open (most tests never use it).
        self.socket_mode = SocketModeServer(app_id="A0GIGDESK")
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._init_state()

    # ------------------------------------------------------------------ state

    def _init_state(self) -> None:
        self.app_token_revoked = False
        self.calls: list[Call] = []
        self._channels: dict[str, list[str]] = {c: list(m) for c, m in self._initial_channels.items()}
        self._shared: dict[str, str] = {}  # channel -> how it is shared (see share_channel)
        self._messages: dict[str, dict[str, Message]] = {}
        self._ephemerals: list[dict] = []
        self._hook_posts: list[dict] = []
        self._hooks: dict[str, dict] = {}
        self._views_log: list[dict] = []
        self._views: dict[str, dict] = {}
        self._home: dict[str, str] = {}
        self._files: dict[str, dict] = {}
        self._uploads: dict[str, dict] = {}  # upload URL ticket -> the file announced (files.getUploadURLExternal)
        self._dms: dict[str, str] = {}  # user -> the direct message channel between them and the bot
        self._users: dict[str, dict] = {}
        self._failures: dict[str, deque] = {}
        self._holds: dict[str, deque] = {}
        self._held: dict[str, int] = {}
        self._drops: dict[str, int] = {}
        self._deliveries: list[Delivery] = []
        self._buckets: dict[str, tuple[float, float]] = {}
        self._last_us = 0

    def reset(self) -> None:
        """Back to a fresh workspace: channels as constructed, no messages,
        calls, ephemerals, views, files, response URLs or pending failures; the app
        token good again, and Socket Mode's records of closed connections and envelopes gone."""
        with self._lock:
            self._init_state()
        self.socket_mode.forget()

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
        self.socket_mode.stop()
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

    def view(self, view_id: str) -> dict | None:
        """A view as it is now (after any views.update), or None."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def home_view(self, user: str) -> dict | None:
        """The App Home view published for ``user``, or None."""
        with self._lock:
            return self.view(self._home.get(user, ""))

    def set_view(self, view: dict, *, view_id: str | None = None) -> dict:
        """Store a view the app returned in an HTTP answer (response_action update/push),
        as Slack does, so later views.update calls find it; returns it with its id."""
        record_block_kit(view.get("blocks"), "view")
        with self._lock:
            return copy.deepcopy(self._store_view(view, view_id=view_id))

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

    def drop_after_store(self, method: str, *, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` take effect (a message is
        stored), then the connection is closed without an answer: Slack did
        it, but the client only sees the connection drop (its call is
        recorded with ``error="connection_dropped"``)."""
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + int(count)

    def holding(self, method: str | None = None) -> int:
        """How many calls (of ``method``) are being held right now."""
        with self._lock:
            return sum(n for m, n in self._held.items() if method is None or m == method)

    def channel_members(self, channel: str) -> list[str]:
        with self._lock:
            return list(self._channels.get(channel, []))

    def direct_message(self, user: str) -> str | None:
        """The id of the direct message between `user` and the bot, once conversations.open opened it."""
        with self._lock:
            return self._dms.get(user)

    def open_direct_message(self, user: str) -> str:
        """Open (or find) the direct message between `user` and the bot, as the app's Messages tab
        in Slack is there before the bot writes in it; returns its id."""
        with self._lock:
            return self._m_conversations_open({"users": user})["channel"]["id"]

    def set_members(self, channel: str, users: Iterable[str]) -> None:
        with self._lock:
            self._channels[channel] = list(users)

    SHARING = ("external", "pending-external", "org", None)

    def share_channel(self, channel: str, how: str | None) -> None:
        """Share a channel as Slack does, as conversations.info then shows it: "external" (Slack
        Connect with another organisation: is_shared and is_ext_shared), "pending-external" (an
        invitation to another organisation not yet accepted: is_pending_ext_shared), "org" (with
        other workspaces of this Enterprise Grid organisation: is_shared and is_org_shared), or
        None (this workspace only)."""
        if how not in self.SHARING:
            raise ValueError(f"how must be one of {self.SHARING}")
        with self._lock:
            if channel not in self._channels:
                raise KeyError(channel)
            if how is None:
                self._shared.pop(channel, None)
            else:
                self._shared[channel] = how

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

    def _check_token(self, method: str, token: str | None) -> None:
        """As Slack: the app-level token opens Socket Mode connections and nothing else;
        the bot token does everything else. A revoked token is token_revoked."""
        if method in APP_TOKEN_METHODS:
            if token == self.app_token:
                if self.app_token_revoked:
                    raise _ApiError("token_revoked")
                return
            raise _ApiError("not_allowed_token_type" if token == self.token else "invalid_auth")
        if token == self.app_token:
            raise _ApiError("not_allowed_token_type")
        if token != self.token:
            raise _ApiError("invalid_auth")

    def revoke_app_token(self) -> None:
        """The app-level token stops working (apps.connections.open answers token_revoked)."""
        with self._lock:
            self.app_token_revoked = True

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
            elif path.startswith("/upload/v1/"):
                response = self._receive_upload(request, path[len("/upload/v1/"):])
            elif path == "/_deliver":
                response = self._deliver(request)
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

    def _take_drop(self, method: str) -> bool:
        with self._lock:
            if self._drops.get(method, 0) <= 0:
                return False
            self._drops[method] -= 1
            return True

    def _api(self, request: Request, method: str) -> Response:
        if self._take_drop(method):
            self._api_call(request, method, dropped=True)
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # werkzeug's write of the answer then fails quietly
            return Response(b"", status=500)
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

    def _api_call(self, request: Request, method: str, *, dropped: bool = False) -> Response:
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
                self._check_token(method, token)
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
                if dropped:  # done, but the answer never reaches the client
                    call.error = "connection_dropped"
                return self._json(payload, 200, headers)
            except _ApiError as e:
                call.status, call.ok, call.error = e.status, False, e.error
                headers.update(e.headers)
                return self._json({"ok": False, "error": e.error, **e.extra}, e.status, headers)
