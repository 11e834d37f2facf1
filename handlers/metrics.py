"""Ack time of every Slack request, and its arrival time for the listeners' own measures.

A Bolt global middleware. Bolt runs middleware one after another (next() does not wrap the
listener), so the ack is timed where it happens: the request's `ack` (which listeners, and Bolt's
own auto-acknowledgement of events, call) is replaced by a TimedAck started on arrival.
"""

from __future__ import annotations

import time
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse

from bot.observability import metrics

RECEIVED_AT = "received_at"  # context key: time.monotonic() when the request reached Bolt


class TimedAck(Ack):
    """Bolt's Ack, observing the time from arrival to the first ack()."""

    def __init__(self, started: float, kind: str | None):
        super().__init__()
        self.started, self.kind = started, kind

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        first = self.response is None
        response = super().__call__(*args, **kwargs)
        if first:
            metrics.acked(self.kind, time.monotonic() - self.started)
        return response


def measure_ack(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:  # noqa: A002 - Bolt passes `next`
    started = time.monotonic()
    body = req.body if isinstance(req.body, dict) else {}
    req.context[RECEIVED_AT] = started
    req.context["ack"] = TimedAck(started, "slash_command" if "command" in body else body.get("type"))
    return next()


def register(app: App) -> None:
    app.middleware(measure_ack)
