"""Who this process is, and leases: one holder of a named job at a time across processes.

An owner is `host/pid/instance`, the instance a random id drawn when the process starts (a pid
can be reused; the instance cannot). A lease (storage/leases.py) is held until it expires; a
thread renews it every BEAT_SECONDS while the job runs, so only a dead or frozen holder loses
it. A holder on this host whose process is gone is replaced at once, so a restart after a
crash does not wait for the expiry. The rows name no SQLite feature: replicas on one
PostgreSQL database can take turns the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.observability import metrics
from storage import leases
from storage.db import Store
from storage.leases import LeaseRow

log = logging.getLogger("gigdesk.leases")

LEASE_SECONDS = 30  # a holder that stops renewing loses its lease (and its claims) after this
BEAT_SECONDS = 5  # how often a holder renews, well inside LEASE_SECONDS


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    instance: str

    @property
    def id(self) -> str:
        return f"{self.host}/{self.pid}/{self.instance}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """The owner an id names (None: not one of ours)."""
        parts = (text or "").rsplit("/", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    def describe(self) -> str:
        return f"gigdesk pid {self.pid} on {self.host}"


_me: Owner | None = None
_me_lock = threading.Lock()


def this_process() -> Owner:
    """This process as an owner (drawn again after a fork: the pid changed)."""
    global _me
    with _me_lock:
        if _me is None or _me.pid != os.getpid():
            _me = Owner(socket.gethostname(), os.getpid(), secrets.token_hex(6))
        return _me


def gone(owner: Owner, me: Owner) -> bool:
    """Certainly not running any more: a process of this host whose pid is dead (or is now this
    process, under another instance). Of another host nothing is certain: its heartbeat tells."""
    if owner.host != me.host:
        return False
    if owner.pid == me.pid:
        return owner.instance != me.instance
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def abandoned(owner_id: str | None, heartbeat: str | None, me: Owner, now: datetime | None = None) -> bool:
    """Whether work `owner_id` took may be taken over: it names no owner (made before owners were
    recorded), it is ours, its owner is gone, or it has shown no heartbeat for LEASE_SECONDS."""
    if owner_id is None or owner_id == me.id:
        return True
    owner = Owner.parse(owner_id)
    if owner is None or gone(owner, me):
        return True
    now = now or datetime.now(UTC)
    try:
        last = datetime.fromisoformat(heartbeat) if heartbeat else None
    except ValueError:
        last = None
    return last is None or now - last > timedelta(seconds=LEASE_SECONDS)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class Hold:
    """One holding of a lease: `taken`, or the live `holder` that has it; `lost` once a renewal failed."""

    def __init__(self, taken: bool, holder: LeaseRow | None = None):
        self.taken = taken
        self.holder = holder
        self.lost = False

    def describe_holder(self) -> str:
        owner = Owner.parse(self.holder.owner) if self.holder else None
        since = f", since {self.holder.acquired_at[:19].replace('T', ' ')} UTC" if self.holder else ""
        return (owner.describe() if owner else "another gigdesk process") + since


class Lease:
    """A named lease in the database, held by this process while a `held()` block runs.

    `on_beat(now)` runs with each renewal, on the renewing thread (e.g. the claims' heartbeat)."""

    def __init__(self, store: Store, name: str, *, on_beat: Callable[[str], None] | None = None,
                 seconds: float = LEASE_SECONDS, beat: float = BEAT_SECONDS):
        self.store = store
        self.name = name
        self.on_beat = on_beat
        self.seconds = seconds
        self.beat = beat

    def _take(self, me: Owner) -> LeaseRow | None:
        now = datetime.now(UTC)
        expires = _iso(now + timedelta(seconds=self.seconds))
        holder = leases.take(self.store.db, self.name, me.id, me.host, me.pid, _iso(now), expires)
        if holder is None:
            return None
        owner = Owner.parse(holder.owner)
        if owner is not None and gone(owner, me):  # a crashed holder on this host: no need to wait for the expiry
            log.info("%s: taking over from %s, which is gone", self.name, owner.describe())
            return leases.take(self.store.db, self.name, me.id, me.host, me.pid, _iso(now), expires, replacing=holder.owner)
        return holder

    def take(self) -> LeaseRow | None:
        """Take the lease now, to keep beyond one block (bot.leader): None when taken, else its live holder."""
        return self._take(this_process())

    def renew(self) -> bool:
        """Extend this process's lease by `seconds` from now; False when it is not (any more) ours."""
        now = datetime.now(UTC)
        return leases.renew(self.store.db, self.name, this_process().id, _iso(now), _iso(now + timedelta(seconds=self.seconds)))

    def release(self) -> None:
        leases.release(self.store.db, self.name, this_process().id)

    @contextlib.contextmanager
    def held(self) -> Iterator[Hold]:
        """Take the lease for the block (Hold.taken False: someone else has it; the block must do nothing)."""
        me = this_process()
        holder = self._take(me)
        metrics.lease_tried(self.name, holder is None)
        if holder is not None:
            yield Hold(False, holder)
            return
        hold = Hold(True)
        stop = threading.Event()
        beating = threading.Thread(target=self._beat, args=(me, hold, stop), name=f"lease-{self.name}", daemon=True)
        beating.start()
        try:
            yield hold
        finally:
            stop.set()
            beating.join(timeout=self.seconds)
            with contextlib.suppress(Exception):  # unreleased, it expires on its own
                leases.release(self.store.db, self.name, me.id)

    def _beat(self, me: Owner, hold: Hold, stop: threading.Event) -> None:
        renewed = datetime.now(UTC)
        while not stop.wait(self.beat):
            now = datetime.now(UTC)
            try:
                if not leases.renew(self.store.db, self.name, me.id, _iso(now), _iso(now + timedelta(seconds=self.seconds))):
                    hold.lost = True
                    log.warning("%s: lost the lease (this process was too slow to renew it); stopping", self.name)
                    return
                renewed = now
                if self.on_beat is not None:
                    self.on_beat(_iso(now))
            except Exception:
                log.exception("%s: could not renew the lease", self.name)
                if now - renewed > timedelta(seconds=self.seconds):
                    hold.lost = True  # it has expired meanwhile: another process may hold it now
                    return
