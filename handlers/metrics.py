"""Ack time of every Slack request, and its arrival time for the listeners' own measures.

A Bolt global middleware: with process_before_response off, `next()` returns once the
listener has acked (slack_bolt.listener.thread_runner), so the time around it is the ack time.
"""

from __future__ import annotations

import time

from slack_bolt import App, BoltRequest, BoltResponse

from bot.observability import metrics

RECEIVED_AT = "received_at"  # context key: time.monotonic() when the request reached Bolt


def measure_ack(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:  # noqa: A002 - Bolt passes `next`
    started = time.monotonic()
    req.context[RECEIVED_AT] = started
    try:
        return next()
    finally:
        body = req.body if isinstance(req.body, dict) else {}
        kind = "slash_command" if "command" in body else body.get("type")
        metrics.acked(kind, time.monotonic() - started)


def register(app: App) -> None:
    app.middleware(measure_ack)
