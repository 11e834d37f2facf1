"""Every Prometheus metric gigdesk exports, and the one-line hooks the code calls.

Names start with `gigdesk_` and follow Prometheus naming (`_total`, `_seconds`). Labels are
bounded: API, HTTP/Slack method, action, outcome, path, kind, result, pool, lease; never a
user, submission, campaign or channel id. Each replica exports its own; sum them in PromQL
(README, "Operating gigdesk").

The gauges read the live objects when scraped (`watch`); the counters and histograms are
moved by the hooks below, called from the places they measure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics

from bot.observability.signals import SIGNALS

log = logging.getLogger("gigdesk.metrics")

PREFIX = "gigdesk"
# Request times: acks want tens of ms, upstream calls and proof checks up to their deadlines.
FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SLOW_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

APIS = ("rapidworkers", "wonolo", "slack")
SPEND_PATHS = ("approve", "approve_all", "job", "wonolo_booking")
# Bolt request types an ack is measured for; anything else is "other".
REQUEST_KINDS = ("block_actions", "view_submission", "view_closed", "slash_command", "event_callback", "shortcut", "block_suggestion")
OTHER = "other"

disable_created_metrics()  # no `_created` twin of every series: Prometheus does not need them

SUBMISSIONS_POSTED = Counter(f"{PREFIX}_submissions_posted_total", "Submissions posted to a review channel (cards and batch rows)")
DECISIONS = Counter(f"{PREFIX}_decisions_total", "Review decisions, by action (approve, reject, block) and outcome", ["action", "outcome"])
SPENT_CENTS = Counter(f"{PREFIX}_spent_cents_total", "Money spent, in cents, by path", ["path"])
FLAGS = Counter(f"{PREFIX}_flags_total", "Proof-check flags raised, by kind", ["kind"])
WEBHOOKS = Counter(f"{PREFIX}_wonolo_webhooks_total", "Wonolo webhooks received, by result", ["result"])
POLLS = Counter(f"{PREFIX}_wonolo_polls_total", "Wonolo polls run, by result", ["result"])
ERRORS = Counter(f"{PREFIX}_errors_total", "Failed calls to Slack and the upstream APIs, by API and class of error", ["api", "error"])
UPSTREAM_SECONDS = Histogram(f"{PREFIX}_upstream_request_seconds", "Time of one HTTP call to an API, by API and method",
                             ["api", "method"], buckets=SLOW_BUCKETS)
ACK_SECONDS = Histogram(f"{PREFIX}_ack_seconds", "From a Slack request reaching Bolt to its acknowledgement, by request kind",
                        ["kind"], buckets=FAST_BUCKETS)
CLICK_TO_IN_PROGRESS_SECONDS = Histogram(f"{PREFIX}_click_to_in_progress_seconds",
                                         "From a review click reaching the bot to its card showing in progress", buckets=FAST_BUCKETS)
PROOF_CHECK_SECONDS = Histogram(f"{PREFIX}_proof_check_seconds", "One submission's proof check (downloads, hashes, comparisons)", buckets=SLOW_BUCKETS)

BUDGET_LEFT = Gauge(f"{PREFIX}_rapidworkers_budget_left", "RapidWorkers requests left in this hour's budget (this replica)")
OLDEST_WAITING_SECONDS = Gauge(f"{PREFIX}_oldest_waiting_submission_age_seconds", "Age of the oldest posted submission still waiting for a decision")
SINCE_GOOD_SYNC_SECONDS = Gauge(f"{PREFIX}_seconds_since_last_good_sync", "Seconds since the last review sync without errors, this replica's or the leader's (since start when none)")
POOL_QUEUE = Gauge(f"{PREFIX}_pool_queue_depth", "Tasks queued on a thread pool, waiting for a thread", ["pool"])
LEADER = Gauge(f"{PREFIX}_leader", "1 when this replica took the named lease at its last try (it runs that job), else 0", ["lease"])

for _api in APIS:  # the families show up in a scrape before their first call
    UPSTREAM_SECONDS.labels(_api, "GET")
for _path in SPEND_PATHS:
    SPENT_CENTS.labels(_path)


def families() -> set[str]:
    """The names of every family gigdesk exports (as they appear in a scrape, suffixes included)."""
    names: set[str] = set()
    for metric in (SUBMISSIONS_POSTED, DECISIONS, SPENT_CENTS, FLAGS, WEBHOOKS, POLLS, ERRORS, UPSTREAM_SECONDS,
                   ACK_SECONDS, CLICK_TO_IN_PROGRESS_SECONDS, PROOF_CHECK_SECONDS, BUDGET_LEFT, OLDEST_WAITING_SECONDS,
                   SINCE_GOOD_SYNC_SECONDS, POOL_QUEUE, LEADER):
        for family in metric.collect():
            names.update(sample.name for sample in family.samples)
            names.add(family.name)
    return names


# --- hooks: one call where the thing happens --------------------------------------------

def posted(count: int = 1) -> None:
    SUBMISSIONS_POSTED.inc(count)


def decided(action: str, outcome: str, *, paid: Decimal | str | None = None) -> None:
    """A review decision; `paid`: what a single approval paid (counted as spent on the approve path)."""
    DECISIONS.labels(action, outcome).inc()
    if paid is not None and outcome == "approved":
        spent("approve", int((Decimal(str(paid)) * 100).to_integral_value()))


def spent(path: str, cents: int) -> None:
    if path in SPEND_PATHS and cents > 0:
        SPENT_CENTS.labels(path).inc(cents)


# The offer actions (confirmations.action) by spend path.
OFFER_PATHS = {"approve-all": "approve_all", "prefilled": "job", "custom": "job", "wonolo-book": "wonolo_booking"}


def offer_spent(action: str, cents: int) -> None:
    """A confirmed offer finished, having spent `cents`."""
    spent(OFFER_PATHS.get(action, OTHER), cents)


def flagged(flags: Iterable[Any]) -> None:
    """Proof-check flags just recorded (objects with a `kind`)."""
    for flag in flags:
        FLAGS.labels(str(flag.kind)).inc()


def webhook(result: str) -> None:
    WEBHOOKS.labels(result).inc()


def webhook_answered(status: str, payload: dict) -> None:
    """POST /wonolo/webhook answered `status` (a WSGI status line) with `payload`."""
    code = status.split(" ", 1)[0]
    result = {"401": "bad_signature", "400": "unreadable", "503": "refused"}.get(code, "accepted" if code == "200" else OTHER)
    WEBHOOKS.labels("duplicate" if payload.get("duplicate") else result).inc()
    if result == "bad_signature":
        SIGNALS.bad_signature()


def poll(result: str) -> None:
    POLLS.labels(result).inc()


def error(api: str, kind: str) -> None:
    ERRORS.labels(api, kind).inc()


def http_error_class(status: int) -> str:
    """A bounded class for an HTTP status that is not a success."""
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    return "server" if status >= 500 else "client"


def upstream_call(api: str, method: str, seconds: float, status: int | None) -> None:
    """One HTTP call to an API: its time, and an error when it failed (status None: no answer)."""
    UPSTREAM_SECONDS.labels(api, method).observe(seconds)
    SIGNALS.answered(api, status)
    if status is None:
        ERRORS.labels(api, "network").inc()
    elif not 200 <= status < 400:
        ERRORS.labels(api, http_error_class(status)).inc()


def acked(kind: str | None, seconds: float) -> None:
    ACK_SECONDS.labels(kind if kind in REQUEST_KINDS else OTHER).observe(seconds)


def in_progress_shown(received_at: float | None) -> None:
    """A review click's card shows it in progress; `received_at` is the click's time.monotonic() (handlers.metrics)."""
    if received_at is not None:
        CLICK_TO_IN_PROGRESS_SECONDS.observe(max(0.0, time.monotonic() - received_at))


def lease_tried(name: str, taken: bool) -> None:
    LEADER.labels(name).set(1 if taken else 0)


# --- gauges read when scraped ------------------------------------------------------------

def _safe(read: Callable[[], float]) -> Callable[[], float]:
    """A scrape never fails because one reading did (a locked database, a stopping pool)."""

    def value() -> float:
        try:
            return float(read())
        except Exception as e:
            log.debug("metric reading failed: %s", type(e).__name__)
            return float("nan")

    return value


def watch(*, budget_left: Callable[[], float], oldest_waiting_seconds: Callable[[], float],
          since_good_sync: Callable[[], float], pools: dict[str, Any]) -> None:
    """Point the gauges at this process's live objects (the latest `gigdesk serve` wins)."""
    BUDGET_LEFT.set_function(_safe(budget_left))
    OLDEST_WAITING_SECONDS.set_function(_safe(oldest_waiting_seconds))
    SINCE_GOOD_SYNC_SECONDS.set_function(_safe(since_good_sync))
    for name, pool in pools.items():
        if pool is not None:
            POOL_QUEUE.labels(name).set_function(_safe(pool._work_queue.qsize))  # ThreadPoolExecutor's own queue


__all__ = ["REGISTRY", "families", "watch"]
