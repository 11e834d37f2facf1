"""Signed requests exactly as Slack sends them to an app's Request URL (tests, benchmarks, the demo).

Slash commands and interactivity arrive as ``application/x-www-form-urlencoded``
(interactivity: a single ``payload`` field holding JSON); Events API callbacks
as ``application/json``.  Every request carries ``X-Slack-Request-Timestamp``
and ``X-Slack-Signature: v0=<hex hmac-sha256(secret, "v0:<ts>:<raw body>")>``.

``SocketPoster`` delivers the very same bodies as Socket Mode envelopes instead
(``envelope_of``), through the stand-in's Socket Mode server, and answers with
the app's ack as a response-like object: a test or the demo drives the bot the
same way over either transport.

``SlackPoster`` posts such bodies to the bot; given the ``SlackStandin`` it
also creates the response URLs (bound to the channel, user and clicked
message) and fills the clicked message from the stand-in's state.  A response URL made by a running
stand-in without channel/user is bound to the first body built with it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests

from sandbox.slack_workspace.server import bind_response_url

__all__ = [
    "SIGNING_SECRET",
    "TEAM_DOMAIN",
    "API_APP_ID",
    "sign",
    "slash_command_body",
    "block_actions_body",
    "view_submission_body",
    "view_closed_body",
    "view_block_actions_body",
    "block_suggestion_body",
    "app_home_opened_body",
    "payload_of",
    "envelope_of",
    "SlackPoster",
    "SocketPoster",
]

SIGNING_SECRET = "test-signing-secret"
TEAM_DOMAIN = "gigdesk-standin"
API_APP_ID = "A0GIGDESK"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated field Slack still sends

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_seq = itertools.count(1)


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None, *,
         content_type: str | None = None) -> dict[str, str]:
    """Headers Slack sends with ``body``: timestamp, v0 signature, Content-Type
    (JSON when the body looks like a JSON object, else form-encoded)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if content_type is None:
        content_type = JSON if body.lstrip()[:1] == b"{" else FORM
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


def _user(user_id: str, team_id: str) -> dict:
    name = user_id.removeprefix("U_").removeprefix("U").lower() or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _trigger(trigger_id: str | None) -> str:
    return trigger_id if trigger_id is not None else f"{next(_seq)}.{int(time.time())}.trigger"


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    return channel_id.removeprefix("C_").removeprefix("G_").lower() or channel_id.lower()


def slash_command_body(command: str, text: str, *, user_id: str = "U_ALICE", channel_id: str = "C_REVIEW",
                       response_url: str, trigger_id: str = "T-trigger", team_id: str = "T0GIGDESK") -> bytes:
    fields = [
        ("token", VERIFICATION_TOKEN),
        ("team_id", team_id),
        ("team_domain", TEAM_DOMAIN),
        ("channel_id", channel_id),
        ("channel_name", _channel_name(channel_id)),
        ("user_id", user_id),
        ("user_name", _user(user_id, team_id)["name"]),
        ("command", command),
        ("text", text),
        ("api_app_id", API_APP_ID),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    bind_response_url(response_url, channel=channel_id, user=user_id)
    return urlencode(fields).encode("ascii")


def _payload_form(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("ascii")


def payload_of(body: bytes) -> dict:
    """Decode the JSON payload of an interactivity body (for assertions)."""
    from urllib.parse import parse_qs

    return json.loads(parse_qs(body.decode("ascii"))["payload"][0])


def _find_element(message: dict | None, action_id: str) -> tuple[str | None, dict | None]:
    for block in (message or {}).get("blocks") or []:
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for el in candidates:
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return block.get("block_id"), el
    return None, None


def _action(action_id: str, value: str, block_id: str, action_type: str, element: dict | None) -> dict:
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": action_type,
                              "action_ts": f"{time.time():.6f}"}
    if action_type == "button":
        action["text"] = copy.deepcopy((element or {}).get("text")) or {"type": "plain_text", "text": action_id, "emoji": True}
        action["value"] = value
        if element and element.get("style"):
            action["style"] = element["style"]
    elif action_type in ("static_select", "external_select", "overflow", "radio_buttons"):
        action["selected_option"] = {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
    elif action_type == "users_select":
        action["selected_user"] = value
    elif action_type == "conversations_select":
        action["selected_conversation"] = value
    elif action_type == "channels_select":
        action["selected_channel"] = value
    elif action_type == "datepicker":
        action["selected_date"] = value
    else:
        action["value"] = value
    return action


def block_actions_body(action_id: str, value: str, *, user_id: str = "U_ALICE", channel_id: str = "C_REVIEW",
                       message_ts: str, response_url: str, block_id: str = "b", message: dict | None = None,
                       trigger_id: str = "T-trigger", action_type: str = "button", extra_actions=None,
                       team_id: str = "T0GIGDESK", is_ephemeral: bool = False, state_values: dict | None = None,
                       action: dict | None = None) -> bytes:
    """A click on a message.  When ``message`` holds the element with
    ``action_id`` and ``block_id`` is left at its default, the element's real
    block_id and button text are used, as Slack would send them.  ``action``:
    the whole action as Slack sends it (e.g. a select's option), instead of one
    built from ``value`` and ``action_type``."""
    found_block, element = _find_element(message, action_id)
    if block_id == "b" and found_block:
        block_id = found_block
    if message is None:
        message = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "app_id": API_APP_ID,
                   "text": "", "ts": message_ts, "blocks": []}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                      "is_ephemeral": is_ephemeral},
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "state": {"values": copy.deepcopy(state_values) if state_values else {}},
        "response_url": response_url,
        "actions": [action or _action(action_id, value, block_id, action_type, element)] + list(extra_actions or []),
    }
    if not is_ephemeral:  # Slack does not send the content of an ephemeral message
        payload["message"] = copy.deepcopy(message)
    bind_response_url(response_url, channel=channel_id, user=user_id,
                      message_ts=None if is_ephemeral else message_ts)
    return _payload_form(payload)


def _view(callback_id: str, *, private_metadata: str, view_id: str, team_id: str, values: dict | None,
          view: dict | None, hash_: str | None) -> dict:
    base = copy.deepcopy(view) if view else {}
    return {
        "id": view_id,
        "team_id": team_id,
        "type": base.get("type", "modal"),
        "blocks": base.get("blocks", []),
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": copy.deepcopy(values or {})},
        "hash": hash_ or f"{int(time.time())}.standin",
        "title": base.get("title", {"type": "plain_text", "text": "gigdesk", "emoji": True}),
        "clear_on_close": base.get("clear_on_close", False),
        "notify_on_close": base.get("notify_on_close", False),
        "close": base.get("close"),
        "submit": base.get("submit"),
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": base.get("external_id", ""),
        "app_installed_team_id": team_id,
        "bot_id": "BBOT",
    }


def view_submission_body(callback_id: str, values: dict, *, private_metadata: str = "", user_id: str = "U_ALICE",
                         view_id: str = "V1", trigger_id: str = "T-trigger", team_id: str = "T0GIGDESK",
                         view: dict | None = None, hash: str | None = None,
                         response_urls: list | None = None) -> bytes:
    """``values``: {block_id: {action_id: {"type": ..., "value": ...}}} as in
    ``view.state.values``; ``view`` (e.g. what the bot opened) supplies blocks
    and title."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": _view(callback_id, private_metadata=private_metadata, view_id=view_id, team_id=team_id,
                      values=values, view=view, hash_=hash),
        "response_urls": list(response_urls or []),
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_form(payload)


def view_block_actions_body(action: dict, *, view: dict, user_id: str = "U_ALICE", trigger_id: str = "T-trigger",
                            team_id: str = "T0GIGDESK", state_values: dict | None = None) -> bytes:
    """A click in a modal or the App Home tab: ``view`` is the view as Slack holds it."""
    shown = copy.deepcopy(view)
    shown["state"] = {"values": copy.deepcopy(state_values or {})}
    payload = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view.get("id")},
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": shown,
        "actions": [copy.deepcopy(action)],
    }
    return _payload_form(payload)


def view_closed_body(callback_id: str, *, private_metadata: str = "", user_id: str = "U_ALICE", view_id: str = "V1",
                     team_id: str = "T0GIGDESK", is_cleared: bool = False, view: dict | None = None) -> bytes:
    payload = {
        "type": "view_closed",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": _view(callback_id, private_metadata=private_metadata, view_id=view_id, team_id=team_id,
                      values={}, view=view, hash_=None),
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_form(payload)


def block_suggestion_body(action_id: str, value: str, *, block_id: str, user_id: str = "U_ALICE", view: dict | None = None,
                          view_id: str = "V1", team_id: str = "T0GIGDESK", message: dict | None = None,
                          channel_id: str | None = None, is_ephemeral: bool = False) -> bytes:
    """What Slack sends while someone types in an external_select of a modal
    (``value``: the text typed so far); the app answers with ``{"options": [...]}``.
    With ``channel_id``: one in a message instead (``message``: the message; of an ephemeral one,
    only its ts is sent)."""
    payload: dict[str, Any] = {
        "type": "block_suggestion",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel_id is not None:
        payload["container"] = {"type": "message", "message_ts": (message or {}).get("ts", ""), "channel_id": channel_id,
                                "is_ephemeral": is_ephemeral}
        payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
        if message is not None and not is_ephemeral:
            payload["message"] = copy.deepcopy(message)
        return _payload_form(payload)
    base = view or {}
    payload["container"] = {"type": "view", "view_id": view_id}
    payload["view"] = _view(base.get("callback_id", ""), private_metadata=base.get("private_metadata", ""), view_id=view_id,
                            team_id=team_id, values={}, view=base, hash_=None)
    return _payload_form(payload)


def app_home_opened_body(user_id: str = "U_ALICE", *, team_id: str = "T0GIGDESK", bot_user_id: str = "UBOT",
                         tab: str = "home", view: dict | None = None) -> bytes:
    now = time.time()
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id.removeprefix("U").removeprefix("_"),
        "tab": tab,
        "event_ts": f"{now:.6f}",
    }
    if view is not None:
        event["view"] = copy.deepcopy(view)
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{next(_seq):08d}{int(now) % 100000:05d}",
        "event_time": int(now),
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": f"4-standin-{team_id}-{user_id}",
    }
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


class SlackPoster:
    """Posts signed Slack requests to the bot's Request URL.

    With ``standin`` (a SlackStandin), commands and clicks get a fresh
    response URL bound to their channel/user (and clicked message), and a
    click on a message the stand-in holds carries that message."""

    def __init__(self, events_url: str, secret: str = SIGNING_SECRET, *, standin: Any = None, timeout: float = 10.0):
        self.events_url = events_url
        self.secret = secret
        self.standin = standin
        self.timeout = timeout
        self.session = requests.Session()

    def post(self, body: bytes, content_type: str = FORM, *, timestamp: int | None = None, sign_it: bool = True,
             headers: dict | None = None) -> requests.Response:
        h = sign(body, self.secret, timestamp, content_type=content_type) if sign_it else {"Content-Type": content_type}
        h.update(headers or {})
        return self.session.post(self.events_url, data=body, headers=h, timeout=self.timeout)

    def _response_url(self, kw: dict, name: str, message_ts: str | None = None) -> str:
        if kw.get("response_url"):
            return kw.pop("response_url")
        if self.standin is None:
            raise ValueError("pass response_url=... or create SlackPoster(..., standin=standin)")
        return self.standin.response_url(name, channel=kw.get("channel_id", "C_REVIEW"),
                                         user=kw.get("user_id", "U_ALICE"), message_ts=message_ts)

    def command(self, command: str, text: str = "", **kw: Any) -> requests.Response:
        post_kw = {k: kw.pop(k) for k in ("timestamp", "headers", "sign_it") if k in kw}
        url = self._response_url(kw, f"{command} {text}".strip())
        return self.post(slash_command_body(command, text, response_url=url, **kw), **post_kw)

    def click(self, action_id: str, value: str = "", **kw: Any) -> requests.Response:
        post_kw = {k: kw.pop(k) for k in ("timestamp", "headers", "sign_it") if k in kw}
        ts = kw.get("message_ts")
        if ts is None:
            raise TypeError("click() needs message_ts=")
        ephemeral = kw.get("is_ephemeral", False)
        url = self._response_url(kw, action_id, None if ephemeral else ts)
        if kw.get("message") is None and self.standin is not None and not ephemeral:
            try:
                kw["message"] = self.standin.message(kw.get("channel_id", "C_REVIEW"), ts).to_dict()
            except LookupError:
                pass
        return self.post(block_actions_body(action_id, value, response_url=url, **kw), **post_kw)

    def submit_view(self, callback_id: str, values: dict, **kw: Any) -> requests.Response:
        post_kw = {k: kw.pop(k) for k in ("timestamp", "headers", "sign_it") if k in kw}
        return self.post(view_submission_body(callback_id, values, **kw), **post_kw)

    def close_view(self, callback_id: str, **kw: Any) -> requests.Response:
        post_kw = {k: kw.pop(k) for k in ("timestamp", "headers", "sign_it") if k in kw}
        return self.post(view_closed_body(callback_id, **kw), **post_kw)

    def suggest(self, action_id: str, value: str, **kw: Any) -> requests.Response:
        """Type ``value`` into an external_select; the response body holds the options."""
        post_kw = {k: kw.pop(k) for k in ("timestamp", "headers", "sign_it") if k in kw}
        return self.post(block_suggestion_body(action_id, value, **kw), **post_kw)

    def home_opened(self, user_id: str = "U_ALICE", **kw: Any) -> requests.Response:
        post_kw = {k: kw.pop(k) for k in ("timestamp", "headers", "sign_it") if k in kw}
        return self.post(app_home_opened_body(user_id, **kw), JSON, **post_kw)


def envelope_of(body: bytes, content_type: str = FORM) -> tuple[str, dict]:
    """The Socket Mode envelope (type, payload) Slack sends instead of this HTTP body: a JSON
    body is an Events API callback; a form with one ``payload`` field an interaction; any other
    form a slash command (its fields as a JSON object)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if content_type.startswith(JSON) or body.lstrip()[:1] == b"{":
        return "events_api", json.loads(body)
    fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    if set(fields) == {"payload"}:
        return "interactive", json.loads(fields["payload"])
    return "slash_commands", fields


class EnvelopeAnswer:
    """What SocketPoster returns: the app's ack, shaped like the HTTP answer a SlackPoster gets
    (``status_code`` 200 when acknowledged in time, else 504; ``text``/``json()``: the ack's payload)."""

    def __init__(self, envelope, acked: bool):
        self.envelope = envelope
        self.status_code = 200 if acked else 504
        self.ok = acked
        payload = (envelope.ack or {}).get("payload") if acked else None
        self.text = json.dumps(payload) if payload is not None else ""
        self.content = self.text.encode("utf-8")
        self.headers: dict[str, str] = {"Content-Type": JSON} if payload is not None else {}

    def json(self) -> Any:
        return json.loads(self.text)


class SocketPoster(SlackPoster):
    """A SlackPoster that delivers over Socket Mode: each body becomes an envelope sent on the
    stand-in's newest connection (``socket_mode``: its SocketModeServer); the answer is the ack."""

    def __init__(self, socket_mode: Any, *, standin: Any = None, timeout: float = 10.0):
        super().__init__("socket-mode://", standin=standin, timeout=timeout)
        self.socket_mode = socket_mode

    def post(self, body: bytes, content_type: str = FORM, *, timestamp: int | None = None, sign_it: bool = True,
             headers: dict | None = None) -> Any:
        kind, payload = envelope_of(body, content_type)
        envelope = self.socket_mode.send_envelope(kind, payload)
        return EnvelopeAnswer(envelope, envelope.acked.wait(self.timeout))
