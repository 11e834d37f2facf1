"""Slack's side of Socket Mode, on loopback, as Slack documents it.

``apps.connections.open`` (called with the app-level token, ``xapp-…``; see
``SlackStandin._m_apps_connections_open``) issues a one-time ``ws://127.0.0.1:…``
URL.  On connect the server sends ``{"type": "hello", "num_connections": N,
"debug_info": {...}, "connection_info": {"app_id": ...}}``; then every delivery
is an envelope::

    {"envelope_id": "…", "type": "slash_commands" | "interactive" | "events_api",
     "accepts_response_payload": bool, "retry_attempt": 0, "retry_reason": "",
     "payload": {...}}

which the app acknowledges with ``{"envelope_id": "…", "payload": {...}}`` (the
payload optional: a view's ``response_action``, a type-ahead's ``options``, a
command's reply).  An envelope not acknowledged when its connection goes away
is delivered again on the next connection, with ``retry_attempt`` one higher
and ``retry_reason`` ``"timeout"``, as Slack does.

Faults, through the server's own knobs (never by patching the app):

* ``disconnect(reason)``: a ``{"type": "disconnect", "reason": …}`` message
  (``refresh_requested``, ``warning``, ``link_disabled``); Slack closes that
  connection (with a close frame) ``grace`` seconds later if the app has not;
* ``drop("reset")``: the TCP connection is reset (RST, no close frame);
* ``drop("quiet")``: the TCP connection is closed quietly (FIN, no close frame);
* ``lose_acks(n)``: the next n acks are ignored (as if lost on the way), so the
  envelope is delivered again after the next reconnect;
* ``redeliver(envelope_id)``: the envelope is sent again with ``retry_attempt``
  one higher, acknowledged or not (Slack's own retry).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")


@dataclass
class Envelope:
    """One delivery and what became of it."""

    envelope_id: str
    type: str
    payload: dict
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""
    sent: int = 0  # how many times it went out on a connection
    acked: threading.Event = field(default_factory=threading.Event)
    ack: dict | None = None  # the app's ack message, once acknowledged
    acks: int = 0  # acks received (a redelivery may be acknowledged again)
    sent_at: float = 0.0  # perf_counter() when it last went out, and when its first ack came
    acked_at: float = 0.0

    def message(self) -> str:
        return json.dumps({
            "envelope_id": self.envelope_id,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
            "payload": self.payload,
        }, separators=(",", ":"))


@dataclass
class Connection:
    """One WebSocket connection of the app."""

    number: int
    ws: Any  # websockets.asyncio.server.ServerConnection
    opened_at: float
    closed_at: float | None = None
    close_how: str | None = None  # "app" (the app closed it), "disconnect", "reset", "quiet", "server stop"
    close_code: int | None = None  # the app's close frame's code; 1006: closed without one

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SocketModeServer:
    """The WebSocket side of the stand-in's Socket Mode (see the module docstring)."""

    def __init__(self, *, app_id: str = "A0GIGDESK", grace: float = 2.0):
        self.app_id = app_id
        self.grace = grace
        self.url: str | None = None
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._tickets: set[str] = set()
        self._ids = itertools.count(1)
        self._numbers = itertools.count(1)
        self.connections: list[Connection] = []
        self.envelopes: dict[str, Envelope] = {}
        self.acks: list[dict] = []  # every ack message received, in order
        self.refused: list[str] = []  # why connection attempts were refused
        self._lost_acks = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._loop is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as e:  # surfaced by start()
                failure.append(e)
                ready.set()
                return
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="slack-socket-mode", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]

    async def _listen(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._session, "127.0.0.1", 0, process_request=self._check_ticket,
                                   ping_interval=None, max_size=2**20)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link/"

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def close() -> None:
            for conn in self.open_connections():
                self._mark_closed(conn, "server stop")
            self._server.close()
            await self._server.wait_closed()
            for task in asyncio.all_tasks():  # pending delayed closes (disconnect's grace)
                if task is not asyncio.current_task():
                    task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(5)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def forget(self) -> None:
        """Drop the records of closed connections, envelopes and acks (open connections stay)."""
        with self._lock:
            self.connections = [c for c in self.connections if c.open]
            self.envelopes.clear()
            self.acks.clear()
            self.refused.clear()
            self._lost_acks = 0

    # ------------------------------------------------------------ apps.connections.open

    def issue_url(self) -> str:
        """A fresh one-time WebSocket URL (what apps.connections.open answers)."""
        self.start()
        ticket = secrets.token_urlsafe(12)
        with self._lock:
            self._tickets.add(ticket)
        return f"{self.url}?ticket={ticket}&app_id={self.app_id}"

    def _check_ticket(self, connection, request):
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._lock:
            if ticket in self._tickets:
                self._tickets.discard(ticket)
                return None
            self.refused.append("unknown or used ticket")
        from http import HTTPStatus

        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    # ------------------------------------------------------------ a connection

    async def _session(self, ws) -> None:
        with self._lock:
            conn = Connection(number=next(self._numbers), ws=ws, opened_at=time.time())
            self.connections.append(conn)
            count = len(self.open_connections())
        await ws.send(json.dumps({
            "type": "hello", "num_connections": count,
            "debug_info": {"host": "standin-socket", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }))
        for envelope in self._unacked():  # what the last connection left unacknowledged
            envelope.retry_attempt += 1
            envelope.retry_reason = "timeout"
            await self._send(conn, envelope)
        try:
            async for raw in ws:
                self._received(raw)
        except Exception:  # a reset or a quiet close: the connection is over either way
            pass
        finally:
            conn.close_code = ws.close_code if ws.close_code is not None else 1006
            self._mark_closed(conn, "app")

    def _received(self, raw) -> None:
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            return
        with self._lock:
            self.acks.append(copy.deepcopy(message))
            if self._lost_acks > 0:
                self._lost_acks -= 1
                return
            envelope = self.envelopes.get(message["envelope_id"])
            if envelope is None:
                return
            envelope.acks += 1
            if envelope.ack is None:
                envelope.ack = message
                envelope.acked_at = time.perf_counter()
            envelope.acked.set()

    async def _send(self, conn: Connection, envelope: Envelope) -> None:
        envelope.sent += 1
        envelope.sent_at = time.perf_counter()
        try:
            await conn.ws.send(envelope.message())
        except Exception:  # the connection went meanwhile: the envelope stays unacknowledged
            pass

    def _unacked(self) -> list[Envelope]:
        with self._lock:
            return [e for e in self.envelopes.values() if not e.acked.is_set()]

    def _mark_closed(self, conn: Connection, how: str) -> None:
        with self._lock:
            if conn.closed_at is None:
                conn.closed_at = time.time()
                conn.close_how = how

    # ------------------------------------------------------------ test-side API

    def open_connections(self) -> list[Connection]:
        with self._lock:
            return [c for c in self.connections if c.open]

    def connected(self) -> bool:
        return bool(self.open_connections())

    def wait_connected(self, timeout: float = 10.0, *, after: int = 0) -> Connection:
        """The newest open connection numbered above `after` (wait for it up to `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            fresh = [c for c in self.open_connections() if c.number > after]
            if fresh:
                return fresh[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Socket Mode connection within {timeout} s")
            time.sleep(0.01)

    def _run(self, coro, timeout: float = 5.0):
        if self._loop is None:
            raise RuntimeError("the Socket Mode server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def send_envelope(self, type: str, payload: dict, *, accepts_response_payload: bool | None = None,
                      envelope_id: str | None = None) -> Envelope:
        """Send a delivery on the newest open connection (queued for the next connection if
        there is none) and return it at once; see deliver()."""
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"type must be one of {ENVELOPE_TYPES}")
        if accepts_response_payload is None:
            accepts_response_payload = type != "events_api"
        envelope = Envelope(envelope_id=envelope_id or f"{next(self._ids):08x}-{secrets.token_hex(6)}",
                            type=type, payload=copy.deepcopy(payload), accepts_response_payload=accepts_response_payload)
        with self._lock:
            self.envelopes[envelope.envelope_id] = envelope
            conns = self.open_connections()
        if conns:
            self._run(self._send(conns[-1], envelope))
        return envelope

    def deliver(self, type: str, payload: dict, *, timeout: float = 10.0, **kw: Any) -> dict | None:
        """Send a delivery and wait for its ack; return the ack message ({"envelope_id", "payload"?}),
        or None if none came within `timeout` (redeliveries after reconnects included)."""
        envelope = self.send_envelope(type, payload, **kw)
        return envelope.ack if envelope.acked.wait(timeout) else None

    def deliver_all(self, deliveries: list[tuple[str, dict]], timeout: float = 30.0) -> list[float | None]:
        """Send every (type, payload) at once on the newest connection (as a burst of clicks
        reaches Slack's side); for each, seconds from its send to its ack (None: no ack in time)."""
        conn = self._newest()
        envelopes = [Envelope(envelope_id=f"{next(self._ids):08x}-{secrets.token_hex(6)}", type=kind,
                              payload=copy.deepcopy(payload), accepts_response_payload=kind != "events_api")
                     for kind, payload in deliveries]
        with self._lock:
            self.envelopes.update((e.envelope_id, e) for e in envelopes)

        async def send_all() -> None:
            for envelope in envelopes:
                await self._send(conn, envelope)

        self._run(send_all(), timeout)
        deadline = time.monotonic() + timeout
        for envelope in envelopes:
            envelope.acked.wait(max(0.0, deadline - time.monotonic()))
        return [e.acked_at - e.sent_at if e.acked.is_set() else None for e in envelopes]

    def redeliver(self, envelope_id: str, *, reason: str = "timeout") -> Envelope:
        """Slack's retry: the same envelope again, retry_attempt one higher, on the newest connection."""
        with self._lock:
            envelope = self.envelopes[envelope_id]
            envelope.retry_attempt += 1
            envelope.retry_reason = reason
            conns = self.open_connections()
        if not conns:
            raise RuntimeError("no open Socket Mode connection")
        self._run(self._send(conns[-1], envelope))
        return envelope

    def lose_acks(self, count: int = 1) -> None:
        """Ignore the next `count` acks (as if lost): their envelopes are delivered again after a reconnect."""
        with self._lock:
            self._lost_acks += count

    def disconnect(self, reason: str = "refresh_requested", *, grace: float | None = None) -> Connection:
        """Send a disconnect message on the newest connection; close it (with a close frame)
        after `grace` seconds unless the app has closed it by then."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"reason must be one of {DISCONNECT_REASONS}")
        conn = self._newest()
        wait = self.grace if grace is None else grace

        async def go() -> None:
            await conn.ws.send(json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "standin-socket"}}))

            async def close_later() -> None:
                await asyncio.sleep(wait)
                if conn.open:
                    self._mark_closed(conn, "disconnect")
                    await conn.ws.close(1001, reason)

            asyncio.get_running_loop().create_task(close_later())

        self._run(go())
        return conn

    def drop(self, how: str = "reset") -> Connection:
        """End the newest connection without a close frame: "reset" (TCP RST) or "quiet" (TCP FIN)."""
        if how not in ("reset", "quiet"):
            raise ValueError('how must be "reset" or "quiet"')
        conn = self._newest()

        async def go() -> None:
            self._mark_closed(conn, how)
            transport = conn.ws.transport
            if how == "reset":
                sock = transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            else:
                transport.close()

        self._run(go())
        return conn

    def _newest(self) -> Connection:
        conns = self.open_connections()
        if not conns:
            raise RuntimeError("no open Socket Mode connection")
        return conns[-1]
