"""What this process has lately seen go right and wrong, for incidents and the App Home.

Fed by the same one-line hooks as the metrics (bot.observability.metrics, .slack) and by the
review sync's health (bot.health.SyncHealth). In-process only: each replica knows its own calls.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

ERROR_WINDOW_SECONDS = 3600.0
MAX_REMEMBERED = 10_000  # error and refusal timestamps kept (an hour of a bad day)


@dataclass
class ChannelRefusal:
    error: str  # not_in_channel, channel_not_found, is_archived
    at: float


@dataclass
class Signals:
    # Per API: monotonic time of the last answer refusing our credentials (401/403), and of the last success.
    refused_at: dict[str, float] = field(default_factory=dict)
    accepted_at: dict[str, float] = field(default_factory=dict)
    bad_signatures: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_REMEMBERED))
    errors: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_REMEMBERED))
    # Channels Slack refused a post to, until a post there succeeds.
    refused_channels: dict[str, ChannelRefusal] = field(default_factory=dict)
    channels_posted_to: set[str] = field(default_factory=set)  # since the start
    last_sync_at: float | None = None  # wall-clock time of the last finished review sync
    last_sync_problem: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answered(self, api: str, status: int | None) -> None:
        now = time.monotonic()
        with self._lock:
            if status in (401, 403):
                self.refused_at[api] = now
            elif status is not None and 200 <= status < 300:
                self.accepted_at[api] = now
            if status is None or not 200 <= status < 400:
                self.errors.append(now)

    def credentials_refused(self, api: str) -> bool | None:
        """True: the last word on our credentials was a refusal; False: a success since; None: no word yet."""
        with self._lock:
            refused, accepted = self.refused_at.get(api), self.accepted_at.get(api)
        if refused is None:
            return None if accepted is None else False
        return accepted is None or refused > accepted

    def bad_signature(self) -> None:
        with self._lock:
            self.bad_signatures.append(time.monotonic())

    def bad_signatures_within(self, seconds: float) -> int:
        since = time.monotonic() - seconds
        with self._lock:
            return sum(1 for t in self.bad_signatures if t >= since)

    def slack_error(self, method: str, error: str, channel: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            self.errors.append(now)
            if method == "chat.postMessage" and channel and error in ("not_in_channel", "channel_not_found", "is_archived"):
                self.refused_channels[channel] = ChannelRefusal(error, now)

    def slack_posted(self, channel: str | None) -> None:
        if channel:
            with self._lock:
                self.refused_channels.pop(channel, None)
                self.channels_posted_to.add(channel)

    def posted_channels(self) -> set[str]:
        with self._lock:
            return set(self.channels_posted_to)

    def channel_refusals(self) -> dict[str, ChannelRefusal]:
        with self._lock:
            return dict(self.refused_channels)

    def errors_within(self, seconds: float = ERROR_WINDOW_SECONDS) -> int:
        since = time.monotonic() - seconds
        with self._lock:
            return sum(1 for t in self.errors if t >= since)

    def sync_finished(self, problem: str | None) -> None:
        with self._lock:
            self.last_sync_at, self.last_sync_problem = time.time(), problem


SIGNALS = Signals()
