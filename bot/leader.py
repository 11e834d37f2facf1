"""One leader for background work across replicas: the `leader` lease, held continuously.

Every `gigdesk serve` tries to take the lease when it starts and then every sixth of
GIGDESK_LEADER_TTL_SECONDS (a beat); the one that has it renews it on that beat and runs the
background jobs (review sync, reminders, digest, Wonolo poll, unfilled alerts, incidents); the
others only serve clicks and commands. The lease row is written to expire two thirds of the TTL
after each renewal: a leader that is killed stops renewing, its row expires at most that long
after, and the next try of another replica (a beat later at most) takes it, so the work moves
on within five sixths of the TTL. A clean stop releases it at once.

A leader counts itself leader only until one beat before its row can expire (counted from
before its last successful renewal), so it stops before another can take over. The per-job
leases and the claims stay as the second guard.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.leases import Lease
from bot.observability import metrics
from storage.db import Store

log = logging.getLogger("gigdesk.leader")

LEADER_LEASE = "leader"
BEATS_PER_TTL = 6  # tries and renewals per TTL
LEASE_BEATS = 4  # the row expires this many beats after a renewal: two missed renewals still keep it


class Leadership:
    """This replica's claim on the `leader` lease; `is_leader()` asks whether to run background work.

    `on_elected()` runs on the leadership thread each time this replica becomes leader after its
    first try (a takeover); keep it short (schedule work, do not do it)."""

    def __init__(self, store: Store, ttl_seconds: float, *, on_elected: Callable[[], None] | None = None):
        self.ttl = float(ttl_seconds)
        self.beat = self.ttl / BEATS_PER_TTL
        self.lease = Lease(store, LEADER_LEASE, seconds=LEASE_BEATS * self.beat, beat=self.beat)
        self.on_elected = on_elected
        self._leading_until = 0.0  # time.monotonic() until which this replica may act as leader
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader", daemon=True)

    def is_leader(self) -> bool:
        return time.monotonic() < self._leading_until

    def start(self) -> Leadership:
        """Try once now (so the jobs started next know), then keep trying or renewing on a thread."""
        self._try(first=True)
        self._thread.start()
        return self

    def _try(self, *, first: bool = False) -> None:
        was = self.is_leader()
        started = time.monotonic()
        try:
            kept = self.lease.renew() if was else self.lease.take() is None
        except Exception:  # the database is away: keep what we have until it runs out
            log.exception("could not %s the leader lease", "renew" if was else "take")
            kept = None
        if kept:
            self._leading_until = started + self.lease.seconds - self.beat
        elif kept is False:
            self._leading_until = 0.0
        now = self.is_leader()
        metrics.lease_tried(LEADER_LEASE, now)
        if now and not was:
            log.info("this replica is now the leader: it runs the background jobs")
            if not first and self.on_elected is not None:
                try:
                    self.on_elected()
                except Exception:
                    log.exception("starting the leader's work failed")
        elif was and not now:
            log.warning("this replica is no longer the leader: background jobs stop here")

    def _run(self) -> None:
        while not self._stop.wait(self.beat):
            self._try()

    def stop(self) -> None:
        """Stop trying and give the lease up at once (another replica takes it at its next try)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.lease.seconds)
        if self.is_leader():
            self._leading_until = 0.0
            try:
                self.lease.release()
            except Exception:  # unreleased, it expires after the TTL
                log.warning("could not release the leader lease", exc_info=True)
        metrics.lease_tried(LEADER_LEASE, False)
