"""Delivering interactions to the app, as Slack does, stamped on the stand-in's own clock.

A benchmark (or test) POSTs a signed interaction body to the stand-in's
``/_deliver`` with ``X-Deliver-To: <the app's Request URL>``; the stand-in
records when it arrived (``time.monotonic()``, the clock of ``Call.received``),
sends it on to the app unchanged and answers with the app's answer. The time
from a click to the app's chat.update of that message is then measured by one
process on one clock.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

from werkzeug.wrappers import Request, Response

from sandbox.slack_workspace.records import Delivery

_FORWARDED = ("Content-Type", "X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Slack-Retry-Num")


def message_ts_of(body: bytes) -> str | None:
    """The message an interaction body is about (a click on a message), if any."""
    try:
        form = parse_qs(body.decode("utf-8"))
        payload = json.loads(form["payload"][0]) if "payload" in form else json.loads(body)
    except (ValueError, KeyError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    ts = container.get("message_ts") or message.get("ts")
    return ts if isinstance(ts, str) else None


class InteractionDelivery:
    """POST /_deliver (mixed into SlackStandin)."""

    def deliveries(self) -> list[Delivery]:
        """Every interaction delivered through /_deliver, in arrival order (copies)."""
        with self._lock:
            return [Delivery(**vars(d)) for d in self._deliveries]

    def _deliver(self, request: Request) -> Response:
        received = time.monotonic()
        target = request.headers.get("X-Deliver-To", "")
        if request.method != "POST" or urlsplit(target).hostname not in ("127.0.0.1", "localhost", "::1"):
            return Response("POST a signed body with X-Deliver-To: an app on loopback", status=400, mimetype="text/plain")
        body = request.get_data()
        delivery = Delivery(to=target, message_ts=message_ts_of(body), received=received)
        with self._lock:
            self._deliveries.append(delivery)
        headers = {k: request.headers[k] for k in _FORWARDED if k in request.headers}
        forward = urllib.request.Request(target, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(forward, timeout=30) as answer:
                status, content, kind = answer.status, answer.read(), answer.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, content, kind = e.code, e.read(), e.headers.get("Content-Type")
        except OSError as e:
            status, content, kind = 502, f"could not reach the app: {e}".encode(), "text/plain"
        with self._lock:
            delivery.status = status
        return Response(content, status=status, content_type=kind or "text/plain")
