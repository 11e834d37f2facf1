"""Proof checks beside posting: a card is posted first, its check runs on its own pool, then the
card is rebuilt from the database with the flags.

* Own bounded pool (WORKERS threads): never the sync, the listeners or the work pool, so a
  slow image host holds up nothing but its own check (each download has a hard deadline).
* Checks are recorded in the order they were queued (oldest submission first), whatever
  order their downloads finish in: the later of two copies is the one flagged.
* Crash-safe: a check starts by counting an attempt (and its process) in the database and
  ends by recording its result; the card is rebuilt and marked shown after. Each sync
  resumes what a dead process left (a check never recorded whose process is gone, or that
  started long ago; a result never shown); a
  submission whose check started MAX_ATTEMPTS times without finishing is recorded as
  "could not be checked" instead of being tried for ever.
* stop(): nothing new starts, queued checks are dropped (the next start resumes them) and
  a running one stops before its next image.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from bot.forensics.service import CheckInterrupted, ProofForensics
from bot.leases import Owner, gone, this_process
from bot.observability import metrics
from storage import forensics as store
from storage.db import Database

if TYPE_CHECKING:  # cards need no proof checks: no circle, only the type
    from bot.review.cards import Cards

log = logging.getLogger("gigdesk.forensics")

WORKERS = 4
MAX_ATTEMPTS = 3
# A check started this long ago and not recorded belongs to a process that is gone
# (one check takes at most MAX_IMAGES_CHECKED downloads of a few seconds).
STALE_AFTER = timedelta(minutes=2)
GAVE_UP = "the check did not finish"


def _abandoned(started_at: str | None, owner: str | None, stale: str) -> bool:
    """A check never started, started before `stale`, or whose process is certainly gone (bot.leases)."""
    if started_at is None or started_at < stale:
        return True
    parsed = Owner.parse(owner)
    return parsed is not None and gone(parsed, this_process())


class _InOrder:
    """Tickets in queue order: a holder may record once every earlier ticket is done."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._first_open = 0
        self._done: set[int] = set()

    def take(self) -> int:
        with self._cond:
            self._next += 1
            return self._next - 1

    def wait_turn(self, ticket: int, stopping: threading.Event) -> bool:
        with self._cond:
            while self._first_open < ticket:
                if stopping.is_set():
                    return False
                self._cond.wait(0.2)
            return True

    def done(self, ticket: int) -> None:
        with self._cond:
            if ticket < self._first_open:
                return  # already passed (a job and its done-callback both report it)
            self._done.add(ticket)
            while self._first_open in self._done:
                self._done.discard(self._first_open)
                self._first_open += 1
            self._cond.notify_all()


class ProofCheckQueue:
    """Runs proof checks of posted submissions and rebuilds their cards."""

    def __init__(self, cards: Cards, forensics: ProofForensics, *, workers: int = WORKERS) -> None:
        self.cards = cards
        self.forensics = forensics
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="proof-check")
        self._order = _InOrder()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._queued: dict[int, Future] = {}

    @property
    def db(self) -> Database:
        return self.cards.db

    def queue(self, submissions: list[tuple[int, dict]]) -> None:
        """Check these posted submissions (id, data), in this order; those already queued are skipped."""
        for submission_id, data in submissions:
            self._submit(submission_id, partial(self._check, submission_id, data))

    def resume(self) -> None:
        """What a stopped or crashed process left: checks never recorded, results never shown."""
        if self._stopping.is_set():
            return
        stale = (datetime.now(UTC) - STALE_AFTER).isoformat(timespec="microseconds")
        self.queue([(sid, data) for sid, data, started_at, owner in store.checks_to_resume(self.db)
                    if _abandoned(started_at, owner, stale)])
        for submission_id in store.results_not_shown(self.db):
            self._submit(submission_id, partial(self._show, submission_id))

    def _submit(self, submission_id: int, job: Callable[[int], None]) -> None:
        with self._lock:
            if self._stopping.is_set() or submission_id in self._queued:
                return
            ticket = self._order.take()
            try:
                future = self._pool.submit(job, ticket)
            except RuntimeError:  # the pool was shut down meanwhile
                self._order.done(ticket)
                return
            self._queued[submission_id] = future

        def finished(_: Future) -> None:  # also when cancelled by stop(): later tickets must not wait for it
            self._order.done(ticket)
            with self._lock:
                if self._queued.get(submission_id) is future:
                    del self._queued[submission_id]

        future.add_done_callback(finished)

    @metrics.PROOF_CHECK_SECONDS.time()
    def _check(self, submission_id: int, data: dict, ticket: int) -> None:
        try:
            if store.stored_flags(self.db, submission_id) is not None:
                return  # recorded meanwhile (by a check queued before this one, or another process)
            attempts = store.begin_check(self.db, submission_id, this_process().id)
            if attempts > MAX_ATTEMPTS:
                images = [{"image_no": n, "url": url, "error": GAVE_UP} for n, url in self.forensics.image_urls(data)]
            else:
                images = self.forensics.hash_images(data, stopping=self._stopping.is_set)
            if not self._order.wait_turn(ticket, self._stopping):
                return  # stopping: recorded by the next start
            self.forensics.record(submission_id, data, images)
        except CheckInterrupted:
            return
        except Exception as e:
            log.warning("proof check of submission %s failed: %s", submission_id, type(e).__name__)
            return
        finally:
            self._order.done(ticket)
        self._show(submission_id)

    def _show(self, submission_id: int, _ticket: int | None = None) -> None:
        """Rebuild the card (or its batch message) from the database; shown once that worked."""
        if self._stopping.is_set():
            return
        try:
            self.cards.refresh_message(submission_id)
        except Exception as e:  # Slack unreachable or failing: the next sync tries again
            log.warning("could not show the proof check of submission %s: %s", submission_id, type(e).__name__)
            return
        store.mark_shown(self.db, submission_id)

    def busy(self) -> int:
        with self._lock:
            return len(self._queued)

    def wait(self, timeout: float) -> bool:
        """Until every queued check is done (True), or `timeout` seconds (False)."""
        with self._lock:
            futures = list(self._queued.values())
        _, running = wait(futures, timeout=timeout)
        return not running

    def stop(self) -> None:
        """No new checks; queued ones dropped; running ones end at their next image (each
        download ends within its deadline). wait() for them."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
