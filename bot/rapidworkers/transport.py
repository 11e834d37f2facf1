"""How the RapidWorkers client talks HTTP: the request budget and the two retrying sessions.

Retries are done by urllib3's ``Retry`` mounted on two sessions:

* the *safe* session (read-only calls: GETs and ``get_balance``) retries
  connection errors, read errors and 429/500/502/503/504;
* the *money* session (approve, reject, bulk approve, job creation,
  block/unblock) retries only when the request certainly did not reach the
  server (connect errors) and on 429 — never after a 5xx or a read timeout,
  because the server may already have moved the money.

Every HTTP attempt, retries included, takes a slot of the client-side
:class:`RequestBudget` (and is counted in ``requests_sent``).
"""

from __future__ import annotations

import contextvars
import email.utils
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ResponseError,
)
from urllib3.util.retry import Retry

from bot.rapidworkers.errors import BudgetExhausted

log = logging.getLogger("gigdesk.rapidworkers")

# Retry tuning: small so a click never waits long and tests stay fast.
RETRY_TOTAL = 3
RETRY_BACKOFF_FACTOR = 0.2
RETRY_BACKOFF_MAX = 2.0
RETRY_AFTER_MAX = 30  # a longer Retry-After is not waited for: RateLimited at once
SAFE_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# --------------------------------------------------------------------------- budget


class RequestBudget:
    """Thread-safe sliding one-hour window of request timestamps, in tiers.

    The last ``priority_reserve`` slots are kept for *priority* calls
    (decisions and the review sync), so no amount of commands can starve
    them; background work also stops ``interactive_reserve`` slots earlier
    than a person's click. With the defaults of gigdesk serve (1,000/hour):
    digest and alerts 700, commands 800, the review sync 900, decisions 1,000.
    """

    def __init__(
        self,
        hourly_limit: int = 1000,
        interactive_reserve: int = 100,
        *,
        priority_reserve: int = 0,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if hourly_limit < 1 or interactive_reserve < 0 or priority_reserve < 0 \
                or interactive_reserve + priority_reserve > hourly_limit:
            raise ValueError("need hourly_limit >= 1 and reserves >= 0 that add up to at most hourly_limit")
        self.hourly_limit = hourly_limit
        self.interactive_reserve = interactive_reserve
        self.priority_reserve = priority_reserve
        self.window = window
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def _limit(self, background: bool, priority: bool = False) -> int:
        return (self.hourly_limit
                - (self.interactive_reserve if background else 0)
                - (0 if priority else self.priority_reserve))

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()

    def try_acquire(self, background: bool = False, priority: bool = False) -> bool:
        """Take one slot if available."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            if len(self._stamps) >= self._limit(background, priority):
                return False
            self._stamps.append(now)
            return True

    def acquire(self, background: bool = False, priority: bool = False) -> None:
        """Take one slot or raise :class:`BudgetExhausted`."""
        if self.try_acquire(background, priority):
            return
        wait = self.seconds_until_free(background, priority)
        who = ("decisions" if not background else "the review sync") if priority else (
            "background" if background else "interactive")
        raise BudgetExhausted(
            f"RapidWorkers request budget used up for {who} calls "
            f"({self._limit(background, priority)} per hour); try again in {max(1, round(wait / 60))} min.",
            retry_in=wait,
        )

    def used(self) -> int:
        """Requests counted in the current window."""
        with self._lock:
            self._prune(self._clock())
            return len(self._stamps)

    def remaining(self, background: bool = False, priority: bool = False) -> int:
        """Slots still available to this kind of caller."""
        return max(0, self._limit(background, priority) - self.used())

    def seconds_until_free(self, background: bool = False, priority: bool = False) -> float:
        """Seconds until one more slot frees up for this kind of caller (0 if free now)."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            excess = len(self._stamps) - self._limit(background, priority)
            if excess < 0:
                return 0.0
            if excess >= len(self._stamps):
                return self.window
            return max(0.0, self._stamps[excess] + self.window - now)


# --------------------------------------------------------------------------- retries


@dataclass
class _CallContext:
    budget: RequestBudget
    background: bool
    count: Callable[[], None]
    priority: bool = False


# Set around each HTTP call so the urllib3 retry hook (same thread) can charge
# the right budget: a requests adapter's Retry object is shared by all callers.
_CALL: contextvars.ContextVar[_CallContext | None] = contextvars.ContextVar("rw_call", default=None)


class _BudgetedRetry(Retry):
    """Retry that charges every retry to the budget and skips long Retry-After waits."""

    def parse_retry_after(self, retry_after: str) -> float:
        # urllib3 raises on fractional or malformed values; treat those leniently.
        seconds = _retry_after_seconds(retry_after)
        return 0.0 if seconds is None else min(seconds, float(self.retry_after_max))

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and self.respect_retry_after_header:
            wait = _retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                # Not worth blocking a thread that long: surface RateLimited now.
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:.0f} s is too long"))
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        ctx = _CALL.get()
        if ctx is not None:
            if not ctx.budget.try_acquire(ctx.background, ctx.priority):
                # Stop retrying; the caller sees the last error/response.
                raise MaxRetryError(_pool, url, error or ResponseError("request budget exhausted"))
            ctx.count()
        cause = type(error).__name__ if error else getattr(response, "status", "?")
        log.info("retrying %s %s after %s", method, _path_of(url), cause)
        return new


class _MoneyRetry(_BudgetedRetry):
    # Only 429 may be retried on a money call even with a Retry-After header:
    # a 503 may come after the server already acted.
    RETRY_AFTER_STATUS_CODES = frozenset({429})


# What both sessions' retries share: back off, honour Retry-After (bounded), hand the last answer back.
_RETRY_COMMON: dict[str, Any] = dict(
    total=RETRY_TOTAL,
    allowed_methods=frozenset({"GET", "POST"}),
    backoff_factor=RETRY_BACKOFF_FACTOR,
    backoff_max=RETRY_BACKOFF_MAX,
    respect_retry_after_header=True,
    retry_after_max=RETRY_AFTER_MAX,
    raise_on_status=False,
    raise_on_redirect=False,
)


def _safe_retry() -> Retry:
    # POST is allowed here because the only POST on this session is get_balance.
    return _BudgetedRetry(**_RETRY_COMMON, status_forcelist=SAFE_RETRY_STATUSES)


def _money_retry() -> Retry:
    return _MoneyRetry(
        **_RETRY_COMMON,
        connect=RETRY_TOTAL,  # connect errors: the request never left
        read=0,  # read timeout / dropped connection: the server may have acted
        other=0,
        status=RETRY_TOTAL,
        status_forcelist=frozenset({429}),
    )


def _mount(session: requests.Session, retry: Retry) -> requests.Session:
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _retry_after_seconds(header: str | None) -> float | None:
    """Seconds of a Retry-After header (delta or HTTP date); None if absent or malformed."""
    if not header or not header.strip():
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _path_of(url: str | None) -> str:
    try:
        return urlsplit(url or "").path or "/"
    except ValueError:
        return "?"


def _never_reached(exc: BaseException) -> bool:
    """True when the request certainly did not reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: BaseException | None = exc
    for _ in range(5):
        if isinstance(seen, (NewConnectionError, ConnectTimeoutError)):
            return True  # refused, DNS failure (NameResolutionError), connect timeout
        if isinstance(seen, MaxRetryError):
            seen = seen.reason
        elif isinstance(seen, requests.RequestException) and seen.args and isinstance(seen.args[0], BaseException):
            seen = seen.args[0]
        else:
            return False
    return False


def _network_message(exc: BaseException, reached: bool) -> str:
    if not reached:
        return "Could not connect to RapidWorkers; nothing was sent. Try again in a moment."
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc).lower():
        return "RapidWorkers did not answer in time; the request may or may not have been applied."
    return "The connection to RapidWorkers broke; the request may or may not have been applied."


# --------------------------------------------------------------------------- sessions shared by a client and its views


class _Shared:
    """State shared by a client and its background view."""

    def __init__(self, safe: requests.Session, money: requests.Session, budget: RequestBudget):
        self.safe = safe
        self.money = money
        self.budget = budget
        self.sent = 0
        self.lock = threading.Lock()

    def count(self) -> None:
        with self.lock:
            self.sent += 1
