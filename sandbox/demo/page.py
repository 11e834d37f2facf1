"""The demo page: the local Slack workspace as a person sees it, and what their clicks send.

GET  /                the page (static/index.html, app.js, app.css)
GET  /files/<id>/<name>  a file shared where the person can see it (an image inline, anything else
                      as a download); the stand-in's own file links need the bot token
GET  /api/state       the workspace for the person at the browser (JSON; ?version=V answers
                      {"version": V} alone while nothing changed, so polling is cheap)
POST /api/command     {"channel", "text": "/rw balance"}: a slash command
POST /api/action      {"where": "message"|"ephemeral"|"view", ..., "action": {...}}: a click or a pick
POST /api/suggest     {"where", ..., "action_id", "block_id", "value"}: typing in an external select; the
                      bot's options, asked for as Slack asks (a block_suggestion to its options listener)
POST /api/submit      {"view_id", "values"}: a modal's submit
POST /api/close       {"view_id"}: a modal's close
POST /api/home        the App Home tab was opened

Each becomes the request Slack would send the bot, signed with the demo's signing
secret (sandbox.slack_requests), to the bot's real /slack/events; with
`gigdesk demo --socket-mode`, the same payload as a Socket Mode envelope over the
local workspace's WebSocket, answered by the bot's ack.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from sandbox.demo.world import CHANNELS, DEMO_USER, Demo
from sandbox.slack_requests import (
    JSON,
    SlackPoster,
    SocketPoster,
    app_home_opened_body,
    block_actions_body,
    block_suggestion_body,
    slash_command_body,
    view_block_actions_body,
    view_closed_body,
    view_submission_body,
)
from sandbox.slack_workspace.block_kit import record_block_kit

STATIC = Path(__file__).with_name("static")
_STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
MAX_BODY = 64 * 1024
COMMANDS = ("/rw", "/wonolo")
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class _PageRequest(Request):
    max_content_length = MAX_BODY


class DemoPage:
    """The page's WSGI app over a started Demo."""

    def __init__(self, demo: Demo):
        self.demo = demo
        self.slack = demo.slack
        self.poster: SlackPoster = (SocketPoster(demo.slack.socket_mode, standin=demo.slack) if demo.socket_mode
                                    else SlackPoster(demo.bot_url + "/slack/events", demo.signing_secret, standin=demo.slack))
        self._lock = threading.Lock()
        self._triggers = itertools.count(1)
        self._views_seen = 0
        self._stack: list[str] = []  # the open modals, the top one last
        self._errors: dict[str, dict] = {}  # view id -> {block_id: message} from response_action errors
        self._notice = ""

    # ------------------------------------------------------------------ state

    def _trigger(self) -> str:
        return f"{next(self._triggers)}.{int(time.time())}.demo"

    def _follow_views(self) -> None:
        """Open, push and close modals as the bot's views.* calls say."""
        log = self.slack.views()
        for entry in log[self._views_seen:]:
            if entry["method"] == "views.open":
                self._stack = [entry["id"]]
            elif entry["method"] == "views.push":
                self._stack.append(entry["id"])
            elif entry["method"] == "views.update":
                self._errors.pop(entry["id"], None)
        self._views_seen = len(log)

    def _ephemerals(self) -> list[dict]:
        """The person's ephemeral messages as shown: a reply to a click in one replaces or deletes it."""
        shown: dict[int, dict] = {}
        for n, e in enumerate(self.slack.ephemerals(DEMO_USER)):
            name = str(e.get("name") or "")
            target = int(name[4:]) if name.startswith("eph:") and name[4:].isdigit() else None
            if e.get("delete_original") and target is not None:
                shown.pop(target, None)
            elif e.get("replace_original") and target is not None and target in shown:
                shown[target].update(text=e["text"], blocks=e["blocks"])
            elif e.get("replace_original") or e.get("delete_original"):
                continue  # a reply to a click on a channel message: the stand-in changed that message
            else:
                shown[n] = {"id": n, "channel": e["channel"], "ts": e.get("ts") or "0", "text": e["text"],
                            "blocks": e["blocks"], "thread_ts": e.get("thread_ts")}
        return list(shown.values())

    def _visible_channels(self) -> list[str]:
        """The channels and the person's direct message with the bot."""
        return [*CHANNELS, *([self.demo.direct_message] if self.demo.direct_message else [])]

    @staticmethod
    def _file_links(files: list[dict]) -> list[dict]:
        """A message's files as the page shows them: its own link to each (see file())."""
        return [{"id": f["id"], "name": f["name"], "title": f.get("title") or f["name"], "mimetype": f["mimetype"],
                 "alt_txt": f.get("alt_txt") or "", "size": f.get("size"),
                 "url": f"/files/{quote(f['id'], safe='')}/{quote(f['name'], safe='')}"} for f in files]

    def _channel_messages(self, channel: str) -> list[dict]:
        roots: list[dict] = []
        replies: dict[str, list[dict]] = {}
        for m in self.slack.messages(channel):
            d = m.to_dict(include_metadata=False)
            if d.get("files"):
                d["files"] = self._file_links(d["files"])
            if m.thread_ts and m.thread_ts != m.ts:
                replies.setdefault(m.thread_ts, []).append(d)
                if not m.reply_broadcast:
                    continue
            roots.append(d)
        for root in roots:
            root["replies"] = replies.get(root["ts"], [])
        return roots

    def state(self) -> dict:
        with self._lock:
            self._follow_views()
            modals = []
            for view_id in self._stack:
                view = self.slack.view(view_id)
                if view is not None:
                    view["errors"] = self._errors.get(view_id, {})
                    modals.append(view)
            state = {
                "me": DEMO_USER,
                "users": {u: self._user_name(u) for u in self.slack._users},
                "channels": [{"id": c, "name": name} for c, name in CHANNELS.items()],
                "dms": [{"id": self.demo.direct_message, "name": "gigdesk"}] if self.demo.direct_message else [],
                "messages": {c: self._channel_messages(c) for c in self._visible_channels()},
                "ephemerals": self._ephemerals(),
                "modals": modals,
                "home": self.slack.home_view(DEMO_USER),
                "notice": self._notice,
            }
        body = json.dumps(state, sort_keys=True, default=str)
        state["version"] = hashlib.sha256(body.encode()).hexdigest()[:16]
        return state

    def _user_name(self, user: str) -> str:
        with self.slack._lock:
            return str(self.slack._users.get(user, {}).get("real_name") or user)

    # ------------------------------------------------------------------ what a person does

    def command(self, channel: str, text: str) -> dict:
        text = text.strip()
        name, _, rest = text.partition(" ")
        if name not in COMMANDS:
            return {"ok": False, "error": "This demo runs the bot's slash commands: try /rw help or /wonolo help."}
        if channel not in self._visible_channels():
            return {"ok": False, "error": "unknown channel"}
        url = self.slack.response_url("cmd", channel=channel, user=DEMO_USER)
        body = slash_command_body(name, rest.strip(), user_id=DEMO_USER, channel_id=channel, response_url=url,
                                  trigger_id=self._trigger(), team_id=self.slack.team_id)
        answer = self._answered(self.poster.post(body))
        if answer.get("ack"):
            self._show_ack(channel, answer["ack"])
        return answer

    def _show_ack(self, channel: str, ack: dict) -> None:
        """A command answered in its HTTP ack: Slack shows that only to the person who typed it."""
        slack = self.slack
        record_block_kit(ack.get("blocks"), "ack")
        with slack._lock:
            slack._ephemerals.append({"text": str(ack.get("text") or ""), "blocks": ack.get("blocks") or [],
                                      "user": DEMO_USER, "channel": channel, "via": "ack", "replace_original": False,
                                      "delete_original": False, "thread_ts": None, "name": "ack", "ts": slack._new_ts()})

    def action(self, request: dict) -> dict:
        action = request.get("action")
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            return {"ok": False, "error": "no action"}
        action = {**action, "action_ts": f"{time.time():.6f}"}
        where = request.get("where")
        state_values = request.get("state") if isinstance(request.get("state"), dict) else {}
        if where == "view":
            view = self.slack.view(str(request.get("view_id")))
            if view is None:
                return {"ok": False, "error": "that view is gone"}
            body = view_block_actions_body(action, view=view, user_id=DEMO_USER, trigger_id=self._trigger(),
                                           team_id=self.slack.team_id, state_values=state_values)
            return self._answered(self.poster.post(body))
        channel = str(request.get("channel"))
        if channel not in self._visible_channels():
            return {"ok": False, "error": "unknown channel"}
        ts = str(request.get("ts"))
        if where == "ephemeral":
            url = self.slack.response_url(f"eph:{int(request.get('ephemeral_id', -1))}", channel=channel, user=DEMO_USER)
            message = None
        else:
            url = self.slack.response_url("click", channel=channel, user=DEMO_USER, message_ts=ts)
            try:
                message = self.slack.message(channel, ts).to_dict()
            except LookupError:
                return {"ok": False, "error": "that message is gone"}
        body = block_actions_body(action["action_id"], str(action.get("value", "")), user_id=DEMO_USER, channel_id=channel,
                                  message_ts=ts, response_url=url, block_id=str(action.get("block_id") or "b"),
                                  message=message, trigger_id=self._trigger(), team_id=self.slack.team_id,
                                  is_ephemeral=where == "ephemeral", state_values=state_values, action=action)
        return self._answered(self.poster.post(body))

    def suggest(self, request: dict) -> dict:
        """The options the bot offers for what was typed in an external select (its block_suggestion answer)."""
        action_id, block_id = request.get("action_id"), request.get("block_id")
        if not isinstance(action_id, str) or not isinstance(block_id, str):
            return {"ok": False, "error": "no element"}
        value = str(request.get("value") or "")[:150]
        common: dict[str, Any] = {"block_id": block_id, "user_id": DEMO_USER, "team_id": self.slack.team_id}
        if request.get("where") == "view":
            view = self.slack.view(str(request.get("view_id")))
            if view is None:
                return {"ok": False, "error": "that view is gone"}
            body = block_suggestion_body(action_id, value, view=view, view_id=view["id"], **common)
        else:
            channel = str(request.get("channel"))
            if channel not in self._visible_channels():
                return {"ok": False, "error": "unknown channel"}
            ephemeral = request.get("where") == "ephemeral"
            message = {"ts": str(request.get("ts"))}  # Slack sends only the ts of an ephemeral message
            if not ephemeral:
                try:
                    message = self.slack.message(channel, str(request.get("ts"))).to_dict()
                except LookupError:
                    return {"ok": False, "error": "that message is gone"}
            body = block_suggestion_body(action_id, value, channel_id=channel, message=message, is_ephemeral=ephemeral, **common)
        response = self.poster.post(body)
        if response.status_code != 200:
            return {"ok": False, "error": f"the bot answered HTTP {response.status_code}"}
        answer = _json_or_empty(response.text)
        return {"ok": True, **{k: answer[k] for k in ("options", "option_groups") if isinstance(answer.get(k), list)}}

    def submit(self, view_id: str, values: dict) -> dict:
        view = self.slack.view(view_id)
        if view is None:
            return {"ok": False, "error": "that view is gone"}
        body = view_submission_body(view.get("callback_id") or "", values, private_metadata=view.get("private_metadata") or "",
                                    user_id=DEMO_USER, view_id=view_id, trigger_id=self._trigger(),
                                    team_id=self.slack.team_id, view=view, hash=view.get("hash"))
        response = self.poster.post(body)
        if response.status_code != 200:
            return {"ok": False, "error": f"the bot answered HTTP {response.status_code}"}
        answer = _json_or_empty(response.text)
        with self._lock:
            self._follow_views()
            kind = answer.get("response_action")
            if kind == "errors":
                self._errors[view_id] = answer.get("errors") or {}
            elif kind == "update" and isinstance(answer.get("view"), dict):
                self.slack.set_view(answer["view"], view_id=view_id)
                self._errors.pop(view_id, None)
            elif kind == "push" and isinstance(answer.get("view"), dict):
                self._stack.append(self.slack.set_view(answer["view"])["id"])
            elif kind == "clear":
                self._stack = []
            elif view_id in self._stack:
                self._stack = self._stack[: self._stack.index(view_id)]
        return {"ok": True}

    def close(self, view_id: str) -> dict:
        view = self.slack.view(view_id)
        with self._lock:
            if view_id in self._stack:
                self._stack = self._stack[: self._stack.index(view_id)]
        if view is not None and view.get("notify_on_close"):
            self.poster.post(view_closed_body(view.get("callback_id") or "", private_metadata=view.get("private_metadata") or "",
                                              user_id=DEMO_USER, view_id=view_id, team_id=self.slack.team_id, view=view))
        return {"ok": True}

    def open_home(self) -> dict:
        body = app_home_opened_body(DEMO_USER, team_id=self.slack.team_id, bot_user_id=self.slack.bot_user_id)
        return self._answered(self.poster.post(body, JSON))

    @staticmethod
    def _answered(response) -> dict:
        if response.status_code != 200:
            return {"ok": False, "error": f"the bot answered HTTP {response.status_code}"}
        answer = _json_or_empty(response.text)
        # A listener may answer a command in its ack (text or blocks): Slack shows it to the person only.
        return {"ok": True, "ack": answer if answer.get("text") or answer.get("blocks") else None}

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ, start_response):
        request = _PageRequest(environ)
        try:
            response = self._route(request)
        except Exception as e:  # a broken page request answers, it never hangs the page
            response = _json({"ok": False, "error": f"demo page error: {type(e).__name__}"}, 500)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        # Only this machine's browser: a page from elsewhere can neither reach it by another host
        # name (DNS rebinding) nor post to it without a CORS preflight (JSON only), which it never answers.
        if request.host.rsplit(":", 1)[0] not in ("127.0.0.1", "localhost", "[::1]"):
            return _json({"error": "open the demo at http://127.0.0.1"}, 403)
        if method == "POST" and request.mimetype != "application/json":
            return _json({"ok": False, "error": "JSON only"}, 415)
        if method == "GET":
            return self._get(request)
        if method != "POST":
            return _json({"error": "method not allowed"}, 405)
        if (request.content_length or 0) > MAX_BODY:
            return _json({"ok": False, "error": "too large"}, 413)
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _json({"ok": False, "error": "not JSON"}, 400)
        if not isinstance(body, dict):
            return _json({"ok": False, "error": "not a JSON object"}, 400)
        handler = self._posts.get(path)
        return _json(handler(self, body)) if handler else _json({"error": "not found"}, 404)

    def _get(self, request: Request) -> Response:
        path = request.path
        if path == "/":
            return _static("index.html")
        if path == "/favicon.ico":
            return Response(status=204)
        if path.startswith("/static/"):
            return _static(path[len("/static/"):])
        if path.startswith("/files/"):
            return self.file(path[len("/files/"):])
        if path == "/api/state":
            state = self.state()
            if request.args.get("version") == state["version"]:
                return _json({"version": state["version"]})
            return _json(state)
        return _json({"error": "not found"}, 404)

    # What each POST path does with its JSON body.
    _posts = {
        "/api/command": lambda self, body: self.command(str(body.get("channel")), str(body.get("text") or "")),
        "/api/action": lambda self, body: self.action(body),
        "/api/suggest": lambda self, body: self.suggest(body),
        "/api/submit": lambda self, body: self.submit(str(body.get("view_id")),
                                                      body["values"] if isinstance(body.get("values"), dict) else {}),
        "/api/close": lambda self, body: self.close(str(body.get("view_id"))),
        "/api/home": lambda self, body: self.open_home(),
        "/api/file": lambda self, body: self.upload(body),
    }

    def file(self, rest: str) -> Response:
        """A file shared in a channel the person sees (their direct message with the bot included):
        an image inline, anything else as a download; never run by the browser (nosniff, no scripts)."""
        file_id = rest.split("/", 1)[0]
        found = self.slack.file(file_id)
        if found is None or not set(found.get("shares") or {}) & set(self._visible_channels()):
            return _json({"error": "not found"}, 404)
        mimetype = found["mimetype"] if found["mimetype"] in INLINE_TYPES else (
            "text/csv; charset=utf-8" if found["mimetype"] == "text/csv" else "application/octet-stream")
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox"}
        if found["mimetype"] not in INLINE_TYPES:
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found['name'], safe='')}"
        return Response(found["content"], content_type=mimetype, headers=headers)

    def upload(self, body: dict) -> dict:
        """A file picked in a modal's file input: kept in the workspace as Slack keeps an upload."""
        try:
            content = base64.b64decode(str(body.get("content") or ""), validate=True)
        except ValueError:
            return {"ok": False, "error": "not base64"}
        name = str(body.get("name") or "upload")[:200]
        mimetype = str(body.get("mimetype") or "application/octet-stream")[:100]
        file_id = f"F{next(self._triggers):08d}DEMO"
        self.slack.add_file(file_id, content, name=name, mimetype=mimetype)
        return {"ok": True, "file": {"id": file_id, "name": name, "mimetype": mimetype, "size": len(content)}}


def _json_or_empty(text: str) -> dict:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _static(name: str) -> Response:
    if "/" in name or name.startswith(".") or Path(name).suffix not in _STATIC_TYPES:
        return _json({"error": "not found"}, 404)
    path = STATIC / name
    if not path.is_file():
        return _json({"error": "not found"}, 404)
    return Response(path.read_bytes(), content_type=_STATIC_TYPES[path.suffix],
                    headers={"Cache-Control": "no-store", "Content-Security-Policy":
                             "default-src 'self'; img-src 'self' http://127.0.0.1:* data:; style-src 'self'; script-src 'self'"})
