"""How Wonolo changes come in: webhooks, and polling for a setup without them.

Both end in the same place, bot.wonolo_desk.cards (sync_request / sync_job), whose
locks and comparisons make a change seen twice (a webhook and a poll, two
deliveries) post nothing twice: a card is updated only when what it shows changed,
a job reply posted only when the job's state differs from the last reply's.

Webhooks
    receive() answers at once: it checks the token, parses the body, records the
    delivery key (a delivery seen before is answered 200 "duplicate" and changes
    nothing), hands the work (fetch from Wonolo, post or update in Slack) to a
    4-thread executor and answers 200. However slow Wonolo or Slack are, the
    answer takes milliseconds.

    Since Wonolo has its 2xx before the work is done, its own retries (of non-2xx
    answers) never start; a failed processing is retried here: up to 3 more times
    after RETRY_DELAYS (2, 10, 30 s), on timer threads so that no executor thread
    sleeps. Errors that cannot heal (Wonolo 401/403/404/422, a missing Slack
    channel or scope) are not retried. After the last failure the error is logged
    (never a secret) and the delivery row is deleted, so a redelivery of the same
    body is processed instead of being taken for a duplicate.

Polling (WONOLO_POLL_SECONDS; 0: webhooks only)
    Each cycle lists the job requests and the jobs Wonolo changed since the last
    change seen (`updated_after`, at most POLL_PAGES pages of each) and brings up
    to MAX_SYNCS cards up to date: a request or job in an active state, or one
    that already has a card or reply (so a finished request's card shows its end,
    but an old request never gets a new card). What is left waits for the next
    cycle. A cycle costs at most MAX_POLL_REQUESTS Wonolo requests (2 when nothing
    changed). It runs only in the process holding the "wonolo-poll" lease.

The last webhook and the last poll are recorded (kv wonolo_last_webhook_at,
wonolo_last_poll_at, ISO UTC) for the App Home.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.leases import Lease
from bot.observability import metrics
from bot.wonolo.client import WonoloError
from bot.wonolo.webhook import WebhookEvent, parse_event, verify
from bot.wonolo_desk.cards import Cards
from bot.wonolo_desk.common import describe, permanent
from bot.wonolo_desk.scan import PER
from storage import kv as kv_store
from storage import wonolo_desk as desk_rows
from storage.db import utcnow

log = logging.getLogger("gigdesk.wonolo.desk")

WORKERS = 4
RETRY_DELAYS = (2.0, 10.0, 30.0)
LAST_WEBHOOK_KEY = "wonolo_last_webhook_at"
LAST_POLL_KEY = "wonolo_last_poll_at"
POLL_CURSOR_KEY = "wonolo_poll_cursor"  # the latest updated_at a finished cycle saw
POLL_LEASE = "wonolo-poll"
POLL_PAGES = 2       # pages of PER read per listing per cycle
MAX_SYNCS = 10       # cards brought up to date per cycle
FIRST_LOOKBACK = timedelta(hours=24)  # the first cycle looks this far back
# Each cycle asks again for this much before the cursor: Wonolo's times have whole seconds, so a
# change in the cursor's own second could otherwise be missed. What was synced is skipped unchanged
# (it costs list pages only: more than PER changes within OVERLAP of the latest cost a page more).
OVERLAP = timedelta(seconds=2)
# Listing pages, then per sync: a job request 2 (itself, its jobs), a job 3 (itself, its request, its jobs).
MAX_POLL_REQUESTS = 2 * POLL_PAGES + 3 * MAX_SYNCS
ACTIVE_REQUEST_STATES = frozenset({"draft", "unassigned", "posted", "filled", "in_progress"})
ACTIVE_JOB_STATES = frozenset({"pending", "filled", "in_progress", "paused"})


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class Webhooks:
    """POST /wonolo/webhook: verified, deduplicated, processed off the request thread, retried."""

    def __init__(self, store: Any, cards: Cards, secret_key: str, *, workers: int = WORKERS):
        self.store = store
        self.cards = cards
        self.secret_key = secret_key
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wonolo")

    @property
    def db(self):
        return self.store.db

    def close(self) -> None:
        """Stop taking work (queued deliveries are dropped; their rows are kept)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def receive(self, raw_body: bytes, token_header: str | None) -> tuple[str, dict]:
        """(status line, JSON payload), answered at once."""
        if not verify(raw_body, token_header, self.secret_key or ""):
            log.warning("Wonolo webhook refused: %s token", "missing" if not token_header else "wrong")
            return "401 Unauthorized", {"error": "invalid token"}
        try:
            event = parse_event(raw_body)
        except ValueError as e:
            log.warning("Wonolo webhook refused: %s", e)
            return "400 Bad Request", {"error": str(e)}
        kv_store.kv_set(self.db, LAST_WEBHOOK_KEY, utcnow())
        if not desk_rows.record_delivery(self.db, event.delivery_key, event.resource_type, event.resource_id, event.state):
            log.info("Wonolo webhook for %s %s seen before; ignored", event.resource_type, event.resource_id)
            return "200 OK", {"ok": True, "duplicate": True}
        try:
            self._executor.submit(self._process, event, 0)
        except RuntimeError:  # shutting down: let Wonolo retry later
            desk_rows.forget_delivery(self.db, event.delivery_key)
            return "503 Service Unavailable", {"error": "shutting down"}
        return "200 OK", {"ok": True}

    def _process(self, event: WebhookEvent, attempt: int) -> None:
        try:
            if event.resource_type == "job_request":
                self.cards.sync_request(event.resource_id)
            else:
                self.cards.sync_job(event.resource_id)
        except Exception as e:
            self._failed(event, attempt, e)

    def _failed(self, event: WebhookEvent, attempt: int, e: Exception) -> None:
        what = f"{event.resource_type} {event.resource_id}"
        if not isinstance(e, (WonoloError, SlackApiError)):
            log.error("Wonolo webhook for %s failed (attempt %d)", what, attempt + 1, exc_info=e)
        if attempt < len(self.retry_delays) and not permanent(e):
            delay = self.retry_delays[attempt]
            log.warning("Wonolo webhook for %s failed (%s); retrying in %gs", what, describe(e), delay)
            timer = threading.Timer(delay, self._resubmit, args=(event, attempt + 1))
            timer.daemon = True
            timer.start()
            return
        log.error("Wonolo webhook for %s failed (%s); gave up after %d attempts", what, describe(e), attempt + 1)
        try:
            desk_rows.forget_delivery(self.db, event.delivery_key)
        except Exception:
            log.exception("could not forget a failed Wonolo delivery")

    def _resubmit(self, event: WebhookEvent, attempt: int) -> None:
        try:
            self._executor.submit(self._process, event, attempt)
        except RuntimeError:
            log.warning("Wonolo webhook for %s %s dropped at shutdown", event.resource_type, event.resource_id)


@dataclass
class PollReport:
    """One cycle: changes found, cards synced, changes left for the next cycle, sync failures;
    `more`: a listing had more pages than a cycle reads (the next cycle goes on from there)."""

    changed: int = 0
    synced: int = 0
    left: int = 0
    failed: int = 0
    more: bool = False

    def summary(self) -> str:
        return (f"{self.changed} changes, {self.synced} synced, {self.left} left for the next cycle, "
                f"{self.failed} failed{', more listed next cycle' if self.more else ''} "
                f"(at most {MAX_POLL_REQUESTS} Wonolo requests a cycle)")


@dataclass(frozen=True)
class _Change:
    kind: str  # "job_request" | "job"
    key: str
    updated_at: str | None
    request_key: str | None  # a job's request
    fingerprint: str  # of the listed object: a second change within the same second differs


def _fingerprint(resource: Any) -> str:
    raw = resource.raw if isinstance(resource.raw, dict) else {}
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


class Poller:
    """Finds what Wonolo changed since the last cycle and syncs those cards (lease holder only).

    A pass lists each kind from page 1 until a short page, POLL_PAGES pages a cycle; the changes
    found wait in a queue, MAX_SYNCS synced a cycle, oldest first. The cursor moves to the latest
    change listed only after a cycle in which both listings ended and the queue is empty, so
    nothing listed is skipped, however long the catch-up.
    """

    KINDS = ("job_request", "job")

    def __init__(self, store: Any, client: Any, cards: Cards):
        self.store = store
        self.client = client
        self.cards = cards
        self.lease = Lease(store, POLL_LEASE)
        self._lock = threading.Lock()
        # Synced changes (updated_at, fingerprint), not synced again while listed unchanged.
        self._seen: dict[tuple[str, str], tuple[str | None, str]] = {}
        self._queue: dict[tuple[str, str], _Change] = {}
        self._next_page = dict.fromkeys(self.KINDS, 1)
        self._latest: dict[str, str | None] = dict.fromkeys(self.KINDS)  # in the pass under way

    @property
    def db(self):
        return self.store.db

    def poll(self) -> PollReport | None:
        """One cycle; None when another process holds the poll lease."""
        with self._lock, self.lease.held() as hold:
            if not hold.taken:
                log.debug("Wonolo poll skipped: %s polls", hold.describe_holder())
                return None
            try:
                report = self._cycle()
            except Exception:
                metrics.poll("failed")
                raise
            metrics.poll("ok" if not report.failed else "partial")
            kv_store.kv_set(self.db, LAST_POLL_KEY, utcnow())
            return report

    def _since(self) -> tuple[str | None, str | None]:
        """(the cursor, the updated_after asked for)."""
        cursor = kv_store.kv_get(self.db, POLL_CURSOR_KEY)
        try:
            start = datetime.fromisoformat(cursor) - OVERLAP if cursor else datetime.now(UTC) - FIRST_LOOKBACK
        except ValueError:
            cursor, start = None, datetime.now(UTC) - FIRST_LOOKBACK
        return cursor, _iso(start)

    def _cycle(self) -> PollReport:
        cursor, since = self._since()
        listed = {kind: self._listing(kind, since) for kind in self.KINDS}
        self._enqueue(listed["job_request"], listed["job"])
        report = PollReport(changed=len(self._queue), more=any(page > 1 for page in self._next_page.values()))
        for change in sorted(self._queue.values(), key=lambda c: c.updated_at or "")[:MAX_SYNCS]:
            if self._sync(change):
                report.synced += 1
                del self._queue[(change.kind, change.key)]
            else:
                report.failed += 1
        report.left = len(self._queue)
        if not report.more and not self._queue:
            self._advance(cursor)
        return report

    def _listing(self, kind: str, since: str | None) -> list[_Change]:
        """What Wonolo changed after `since`, at most POLL_PAGES pages on from where the pass is."""
        found: list[_Change] = []
        first = self._next_page[kind]
        if first == 1:
            self._latest[kind] = None  # a new pass
        for page in range(first, first + POLL_PAGES):
            if kind == "job_request":
                items = self.client.list_job_requests(None, page=page, per=PER, updated_after=since)
                batch = [self._request_change(jr) for jr in items]
            else:
                items = self.client.list_jobs(None, page=page, per=PER, updated_after=since)
                batch = [self._job_change(job) for job in items]
            stamps = [stamp for stamp in (_iso(item.updated_at) for item in items) if stamp]
            previous = self._latest[kind]
            self._latest[kind] = max([*stamps, *([previous] if previous else [])], default=None)
            found.extend(c for c in batch if c is not None)
            if len(items) < PER:
                self._next_page[kind] = 1
                return found
        self._next_page[kind] = first + POLL_PAGES
        log.info("Wonolo poll: more than %d %ss changed; the rest on the next cycles", POLL_PAGES * PER, kind)
        return found

    def _request_change(self, jr) -> _Change | None:
        """Active, or already shown (its card then shows how it ended); else none of our business."""
        if jr.state not in ACTIVE_REQUEST_STATES and self.cards.request_row(str(jr.id)) is None:
            return None
        return _Change("job_request", str(jr.id), _iso(jr.updated_at), None, _fingerprint(jr))

    def _job_change(self, job) -> _Change | None:
        request_key = str(job.job_request_id) if job.job_request_id is not None else None
        if request_key is None:
            return None
        shown = self.cards.job_row(str(job.id)) is not None or self.cards.request_row(request_key) is not None
        if job.state not in ACTIVE_JOB_STATES and not shown:
            return None
        return _Change("job", str(job.id), _iso(job.updated_at), request_key, _fingerprint(job))

    def _enqueue(self, requests: list[_Change], jobs: list[_Change]) -> None:
        """Queue the changes not synced yet; a request one of whose jobs changed is synced with that job."""
        for change in jobs:
            if self._seen.get((change.kind, change.key)) != (change.updated_at, change.fingerprint):
                self._queue[(change.kind, change.key)] = change
        with_jobs = {c.request_key for c in self._queue.values() if c.kind == "job"}
        for change in requests:
            if change.key in with_jobs:
                self._queue.pop((change.kind, change.key), None)
            elif self._seen.get((change.kind, change.key)) != (change.updated_at, change.fingerprint):
                self._queue[(change.kind, change.key)] = change

    def _advance(self, cursor: str | None) -> None:
        """Both listings ended and everything listed was synced: the next pass asks for what changed after it."""
        latest = max(filter(None, self._latest.values()), default=None)
        if latest is None:
            return
        if cursor is None or latest > cursor:
            kv_store.kv_set(self.db, POLL_CURSOR_KEY, latest)
        # Changes older than the overlap are never listed again; those within it may be.
        keep = _iso(datetime.fromisoformat(latest) - OVERLAP) or latest
        self._seen = {k: v for k, v in self._seen.items() if v[0] is not None and v[0] >= keep}

    def _sync(self, change: _Change) -> bool:
        try:
            if change.kind == "job_request":
                self.cards.sync_request(change.key)
            else:
                self.cards.sync_job(change.key)
        except Exception as e:
            log.warning("Wonolo poll: %s %s not synced (%s); tried again next cycle", change.kind, change.key, describe(e))
            return False
        self._seen[(change.kind, change.key)] = (change.updated_at, change.fingerprint)
        return True
