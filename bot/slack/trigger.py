"""Calls bound to a trigger_id: Slack takes a trigger for 3 s, so their 429 retries must not outlast it.

A click that opens a modal makes its look-ups (who may act) and then `views.open` on the
listener thread, within `trigger_bound()`. slack-sdk's RateLimitErrorRetryHandler would sleep
Retry-After (plus up to 1 s) and try again, long after the trigger expired; inside the block,
`TriggerAwareRateLimitRetryHandler` gives up instead when the wait would end past the
trigger's deadline, and the person is told Slack is busy (handlers/errors.py). Outside any
such block it waits as slack-sdk does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

TRIGGER_SECONDS = 3.0  # Slack: a trigger_id expires 3 s after the interaction
VIEWS_OPEN_RESERVE = 0.5  # s kept for the views.open itself after the last wait
JITTER = 1.0  # slack-sdk adds up to 1 s to Retry-After
BUSY = "Slack is busy right now (it asked me to slow down). Nothing was done; try again in a moment."

_local = threading.local()


@contextlib.contextmanager
def trigger_bound(started: float | None = None) -> Iterator[None]:
    """Within the block, this thread's Slack calls never wait for a 429 past the trigger's deadline
    (`started`: time.monotonic() when the request arrived; now by default)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = (time.monotonic() if started is None else started) + TRIGGER_SECONDS - VIEWS_OPEN_RESERVE
    try:
        yield
    finally:
        _local.deadline = previous


def _retry_after(response: HttpResponse) -> float:
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            try:
                return float(values[0] if isinstance(values, list) else values)
            except (TypeError, ValueError, IndexError):
                break
    return 1.0


class TriggerAwareRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, except that inside trigger_bound() it gives up when waiting
    Retry-After would end past the trigger's deadline."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        deadline = getattr(_local, "deadline", None)
        if deadline is None or response is None:
            return True
        return time.monotonic() + _retry_after(response) + JITTER <= deadline
