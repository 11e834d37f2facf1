"""Fair use of the RapidWorkers budget by people: one outsider cannot starve everyone.

* read-only answers (balance, campaign list) are kept ANSWER_SECONDS, so
  repeating a command costs no request;
* each user has USER_CALLS_PER_MINUTE commands that reach RapidWorkers
  (cached answers are free), refused beyond it with "try again in N s"; the
  count is in the database (storage/allowance.py), one allowance across replicas;
* the last slots of the hourly budget are for decisions and the review sync
  (RequestBudget's priority reserve, set in bot/services.py);
* "Post pending for review" runs one sync at a time: concurrent clicks share it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from bot.errors import UserError
from storage import allowance
from storage.db import Store

ANSWER_SECONDS = 30.0
USER_CALLS_PER_MINUTE = 10

T = TypeVar("T")


class TryLater(UserError):
    """A user's allowance for this minute is used up."""

    def __init__(self, seconds: float):
        self.seconds = max(1, math.ceil(seconds))
        super().__init__(
            f"You have used your {USER_CALLS_PER_MINUTE} RapidWorkers look-ups for this minute; "
            f"try again in {self.seconds} s."
        )


class Allowance:
    """Per-user sliding-window count of calls, in the database: every replica counts against one
    allowance per person (wall-clock seconds: replicas on several hosts share the window)."""

    def __init__(self, store: Store, per_window: int = USER_CALLS_PER_MINUTE, window: float = 60.0,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.per_window = per_window
        self.window = window
        self._clock = clock

    def take(self, user_id: str | None) -> None:
        """Count one call for the user or raise TryLater."""
        now = self._clock()
        oldest = allowance.take_call(self.store.db, user_id or "?", now, self.window, self.per_window)
        if oldest is not None:
            raise TryLater(oldest + self.window - now)


class AnswerCache:
    """Answers kept for `seconds`; concurrent misses of one key compute it once."""

    def __init__(self, seconds: float = ANSWER_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._answers: dict[Hashable, tuple[float, object]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: Hashable):
        with self._lock:
            found = self._answers.get(key)
            if found is not None and self._clock() - found[0] < self.seconds:
                return True, found[1]
            return False, None

    def peek(self, key: Hashable):
        """The cached answer while fresh, else None (never computes)."""
        return self._fresh(key)[1]

    def latest(self, key: Hashable) -> tuple[object, bool]:
        """The last answer however old (None: never computed) and whether it is still fresh; never computes."""
        with self._lock:
            found = self._answers.get(key)
            if found is None:
                return None, False
            return found[1], self._clock() - found[0] < self.seconds

    def get(self, key: Hashable, compute: Callable[[], T], *, before_compute: Callable[[], None] = lambda: None) -> T:
        """The cached answer, or `before_compute()` (e.g. Allowance.take) then `compute()`."""
        hit, value = self._fresh(key)
        if hit:
            return value
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            hit, value = self._fresh(key)
            if hit:
                return value
            before_compute()
            value = compute()
            with self._lock:
                self._answers[key] = (self._clock(), value)
            return value


class SingleFlight:
    """Run one call at a time; callers that arrive while it runs get its result."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: dict[Hashable, _Flight] = {}

    def run(self, key: Hashable, call: Callable[[], T]) -> T:
        with self._lock:
            flight = self._running.get(key)
            leader = flight is None
            if leader:
                flight = self._running[key] = _Flight()
        if not leader:
            return flight.wait()  # type: ignore[union-attr]
        try:
            flight.result = call()  # type: ignore[union-attr]
        except BaseException as e:
            flight.error = e  # type: ignore[union-attr]
            raise
        finally:
            with self._lock:
                del self._running[key]
            flight.done.set()  # type: ignore[union-attr]
        return flight.result  # type: ignore[union-attr]


class _Flight:
    def __init__(self):
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None

    def wait(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result
