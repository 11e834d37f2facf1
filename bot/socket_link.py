"""Socket Mode: the WebSocket link to Slack that `gigdesk serve` keeps open when SLACK_APP_TOKEN is set.

slack-sdk's client for the `websocket-client` package (the one Bolt's
`slack_bolt.adapter.socket_mode.websocket_client` adapter uses, with Bolt's
own `run_bolt_app` dispatch), chosen by measurement
(benchmarks/socket_reconnect.py, README "Socket Mode"): it notices a reset or
a quietly closed socket at once, where slack-sdk's built-in client spins a core
for about a minute. Around it, three things of ours:

* every envelope is handled once: a redelivery (same envelope_id, Slack's
  retry after a lost ack or a reconnect) is acknowledged again, with the first
  answer, and not handled again (`EnvelopeLedger`);
* every envelope is acknowledged, also when no listener took it, so Slack does
  not retry what will never be handled;
* the link's state (connecting, connected, reconnecting, refused token) for
  /readyz, and one clear error when Slack refuses the app-level token at start.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.websocket_client import SocketModeClient

from bot.connectivity import slack_outage
from bot.errors import UserError
from bot.slack import errors as slack_errors

log = logging.getLogger("gigdesk.socket")

# How often the client pings Slack, and how often its monitor re-tries a reconnect that failed.
PING_SECONDS = 5.0
# A refused token is asked about again this often, not at every ping tick.
REFUSED_RETRY_SECONDS = 60.0
APP_TOKEN_PAGE = "https://api.slack.com/apps → your app → Basic Information → App-Level Tokens"

CONNECTING, CONNECTED, RECONNECTING, REFUSED = "connecting", "connected", "reconnecting", "refused token"


class AppTokenRefused(UserError):
    """Slack refused SLACK_APP_TOKEN when asked for a Socket Mode connection."""


def refusal_line(error: str) -> str:
    """One line for a refused app-level token: which token, why, where to get a new one."""
    if error == slack_errors.MISSING_SCOPE:
        why = "it lacks the scope connections:write"
    elif error == "not_allowed_token_type":
        why = "it is not an app-level token"
    else:
        why = f"{error}: wrong, revoked or expired"
    return (f"Slack refused SLACK_APP_TOKEN ({why}): generate a new app-level token with the scope "
            f"connections:write at {APP_TOKEN_PAGE}, and put it in SLACK_APP_TOKEN")


def is_token_refusal(e: SlackApiError) -> bool:
    error = e.response.get("error")
    return error in slack_errors.TOKEN_ERRORS or error in ("not_allowed_token_type", slack_errors.MISSING_SCOPE)


class EnvelopeLedger:
    """Envelope ids seen in the last hour (at most `size`), each with the ack it was answered with.

    In memory: across a restart or between replicas, the rules of each action
    (one decision, one spend, one handling per event_id) keep a redelivery harmless.
    """

    def __init__(self, size: int = 10_000, keep_seconds: float = 3600.0):
        self.size = size
        self.keep_seconds = keep_seconds
        self._seen: OrderedDict[str, tuple[float, dict | None]] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, envelope_id: str) -> tuple[bool, dict | None]:
        """(True, None) the first time; (False, the ack sent, or None while still in hand) after."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(envelope_id)
            if seen is not None:
                return False, seen[1]
            self._seen[envelope_id] = (now, None)
            while self._seen and (len(self._seen) > self.size or next(iter(self._seen.values()))[0] < now - self.keep_seconds):
                self._seen.popitem(last=False)
            return True, None

    def answered(self, envelope_id: str, ack: dict) -> None:
        with self._lock:
            if envelope_id in self._seen:
                self._seen[envelope_id] = (self._seen[envelope_id][0], ack)


def ack_message(req: SocketModeRequest, response: BoltResponse | None) -> dict:
    """The ack of an envelope: its id, and the listener's answer as payload when it gave one."""
    message: dict[str, Any] = {"envelope_id": req.envelope_id}
    if response is None or response.status != 200 or not response.body:
        return message
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        message["payload"] = json.loads(response.body)
    else:
        message["payload"] = {"text": response.body}
    return message


class _Client(SocketModeClient):
    """websocket-client's Socket Mode client, reporting its state to the link."""

    link: SocketLink
    not_before = 0.0  # Slack said "ratelimited": no new URL before this (monotonic)

    def issue_new_wss_url(self) -> str:
        """apps.connections.open, as slack-sdk asks it, but without sleeping in its threads or logging
        a refusal as a stack of errors: a refused token is asked about again only every minute."""
        link = self.link
        now = time.monotonic()
        if link.state == REFUSED and now - link.refused_at < REFUSED_RETRY_SECONDS:
            raise AppTokenRefused(refusal_line(link.refusal))
        if now < self.not_before:
            raise SlackRateLimited(f"apps.connections.open is rate limited for {self.not_before - now:.0f} s more")
        try:
            return self.web_client.apps_connections_open(app_token=self.app_token)["url"]
        except SlackApiError as e:
            if e.response.get("error") == slack_errors.RATELIMITED:
                self.not_before = now + float(e.response.headers.get("Retry-After", "30") or 30)
            elif is_token_refusal(e):
                link.refused(str(e.response.get("error")))
            raise


    def connect(self) -> None:
        """A new connection, replacing the current one (after a `disconnect` message, say).

        slack-sdk closes the old connection from this thread with websocket-client's close(),
        which does not wake the old connection's reader: it sits in select() on a closed
        descriptor until its 10 s timeout, and the new connection starts only then (10.5 s
        after a refresh, about one time in two). Ending the old one first wakes it at once."""
        end_session(self.current_session, "replaced")
        super().connect()


def end_session(session, reason: str) -> None:
    """Send a close frame on a websocket-client connection, then shut its socket down, so that
    its reader thread wakes now rather than at its next select() timeout."""
    ws = getattr(session, "sock", None)
    if ws is None or not ws.connected:
        return
    try:
        ws.send_close(1000, reason.encode())
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _ClientLog(logging.LoggerAdapter):
    """The client's log, without the errors its threads log about the socket we are closing, nor
    (every ping interval) about a refused token the link has already reported once."""

    def __init__(self, link: SocketLink):
        super().__init__(logging.getLogger("gigdesk.socket.client"), {})
        self.link = link

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if (self.link.closing or self.link.state == REFUSED) and level >= logging.ERROR:
            level = logging.DEBUG
        super().log(level, msg, *args, **kwargs)


class SlackRateLimited(Exception):
    """apps.connections.open answered ratelimited; the client tries again after Retry-After."""


class SocketLink:
    """The Socket Mode connection of one `gigdesk serve`: start(), state, problem(), close()."""

    def __init__(self, app: App, app_token: str, *, concurrency: int = 16, ping_interval: float = PING_SECONDS):
        self.ledger = EnvelopeLedger()
        self.state = CONNECTING
        self.since = time.monotonic()
        self.refused_at = 0.0
        self.refusal = ""
        self.last_disconnect = ""
        self.closing = False
        self._lock = threading.Lock()
        self.app = app
        client = _Client(app_token=app_token, logger=_ClientLog(self), web_client=app.client,  # type: ignore[arg-type]
                         ping_interval=ping_interval, concurrency=concurrency)
        client.link = self
        client.socket_mode_request_listeners.append(self._handle)
        client.on_message_listeners.append(self._on_message)
        client.on_close_listeners.append(self._on_close)
        self.client = client

    def _handle(self, _client, req: SocketModeRequest) -> None:
        """One envelope: handled once through Bolt (as its websocket-client adapter does), always acknowledged."""
        first, ack = self.ledger.first(req.envelope_id)
        if not first:
            log.info("Slack delivered envelope %s again (retry %s, %s): acknowledged, not handled again",
                     req.envelope_id, req.retry_attempt, req.retry_reason or "no reason given")
            if ack is not None:
                self.send_ack(ack)
            return
        response = None
        try:
            response = run_bolt_app(self.app, req)
        except Exception:
            log.exception("a %s envelope could not be handled", req.type)
        ack = ack_message(req, response)
        self.ledger.answered(req.envelope_id, ack)
        self.send_ack(ack)

    # ------------------------------------------------------------ state

    def _set(self, state: str) -> None:
        with self._lock:
            if state != self.state:
                self.state, self.since = state, time.monotonic()

    def refused(self, error: str) -> None:
        self.refusal = error
        self.refused_at = time.monotonic()
        if self.state != REFUSED and self.state != CONNECTING:  # at start, the CLI says it, once
            log.error(refusal_line(error))
        self._set(REFUSED)

    def _on_message(self, _ws, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "hello":
            if self.state != CONNECTED:
                log.info("Socket Mode connected")
            self._set(CONNECTED)
        elif message.get("type") == "disconnect":
            self.last_disconnect = str(message.get("reason") or "")
            if self.last_disconnect == "link_disabled":
                log.warning("Slack turned Socket Mode off for this app (disconnect: link_disabled): "
                            "turn it on again in the app's settings, under Socket Mode")
            self._set(RECONNECTING)

    def _on_close(self, _ws) -> None:
        if not self.closing and self.state == CONNECTED:
            self._set(RECONNECTING)

    def problem(self) -> str | None:
        """None while connected; else what is wrong, in words (for /readyz)."""
        state, since = self.state, time.monotonic() - self.since
        if state == CONNECTED:
            return None
        if state == REFUSED:
            return refusal_line(self.refusal)
        if state == RECONNECTING:
            after = f" after a disconnect ({self.last_disconnect})" if self.last_disconnect else ""
            return f"Socket Mode is reconnecting{after}, for {since:.0f} s"
        return f"Socket Mode is connecting, for {since:.0f} s"

    # ------------------------------------------------------------ life

    def start(self, wait: float = 10.0) -> None:
        """Open the connection; wait up to `wait` s for Slack's hello.

        Raises AppTokenRefused (a refused token) or UserError (Slack unreachable), each one line."""
        try:
            self.client.connect()
        except Exception as e:
            self.close()
            if isinstance(e, SlackApiError) and is_token_refusal(e):
                raise AppTokenRefused(refusal_line(str(e.response.get("error")))) from None
            outage = slack_outage(e, self.client.web_client.base_url)
            if outage is None and isinstance(e, SlackApiError):
                outage = f"Slack answered apps.connections.open with {e.response.get('error')}"
            if outage is None:
                raise
            raise UserError(f"Socket Mode could not start: {outage}") from None
        deadline = time.monotonic() + wait
        while self.state != CONNECTED and time.monotonic() < deadline:
            time.sleep(0.02)

    def send_ack(self, ack: dict) -> None:
        try:
            self.client.send_message(json.dumps(ack))
        except Exception as e:  # the connection went: Slack delivers the envelope again, the ledger answers it
            log.info("an ack was not sent (%s); Slack will deliver the envelope again", type(e).__name__)

    def close(self) -> None:
        """Close the WebSocket (with a close frame) and stop the client's threads."""
        self.closing = True
        client = self.client
        client.auto_reconnect_enabled = False
        end_session(client.current_session, "gigdesk is stopping")
        client.close()
