"""Unit tier: who owns work (this process, a gone one, a silent one), as recovery decides it."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.leases import LEASE_SECONDS, Lease, Owner, abandoned, gone, this_process
from storage import leases
from storage import submissions as subs
from storage.db import Store
from tests.support.harness import wait_until

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
NO_SUCH_PID = 2**22 + 11  # above Linux's largest pid


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def test_an_owner_id_names_host_pid_and_instance_and_reads_back():
    me = this_process()
    assert me.pid == os.getpid() and Owner.parse(me.id) == me
    assert Owner.parse("web-1.example/42/ab12") == Owner("web-1.example", 42, "ab12")
    assert Owner.parse("no pid") is None and Owner.parse(None) is None and Owner.parse("h/x/y") is None


def test_only_a_process_of_this_host_can_be_known_gone():
    me = this_process()
    assert gone(Owner(me.host, NO_SUCH_PID, "x"), me)
    assert gone(Owner(me.host, me.pid, "an-earlier-instance"), me)  # our pid, reused
    assert not gone(me, me)
    assert not gone(Owner(me.host, os.getppid(), "x"), me)  # alive
    assert not gone(Owner("another-host", NO_SUCH_PID, "x"), me)  # nothing certain about it


def test_a_claim_is_abandoned_when_ours_unowned_gone_or_silent_past_the_lease_time():
    me = this_process()
    live = Owner(me.host, os.getppid(), "x").id
    fresh = iso(NOW - timedelta(seconds=LEASE_SECONDS))  # exactly the lease time: still alive
    stale = iso(NOW - timedelta(seconds=LEASE_SECONDS, microseconds=1))
    assert abandoned(None, None, me, NOW) and abandoned(me.id, fresh, me, NOW)
    assert abandoned(Owner(me.host, NO_SUCH_PID, "x").id, fresh, me, NOW)
    assert not abandoned(live, fresh, me, NOW)
    assert not abandoned(Owner("another-host", 7, "x").id, fresh, me, NOW)
    assert abandoned(live, stale, me, NOW) and abandoned(Owner("another-host", 7, "x").id, stale, me, NOW)
    assert abandoned(live, None, me, NOW)


def test_a_held_lease_is_renewed_with_its_claims_and_is_known_lost_once_someone_else_has_it(tmp_path):
    store = Store(str(tmp_path / "lease.db"))
    me = this_process()
    assert subs.claim(store.db, 1, "camp1", None, {}, owner=me.id)
    claimed_at = subs.get(store.db, 1).claim_heartbeat
    lease = Lease(store, "sync", seconds=0.5, beat=0.05,
                  on_beat=lambda now: subs.beat_claims(store.db, me.id, now))
    with lease.held() as hold:
        assert hold.taken
        time.sleep(0.8)  # longer than the lease: only the renewals keep it
        row = leases.holder(store.db, "sync")
        assert row.owner == me.id and row.expires_at > datetime.now(UTC).isoformat()
        assert subs.get(store.db, 1).claim_heartbeat > claimed_at
        now = datetime.now(UTC)
        later = (now + timedelta(seconds=60)).isoformat(timespec="microseconds")
        assert leases.take(store.db, "sync", "h/1/other", "h", 1, now.isoformat(timespec="microseconds"), later, replacing=me.id) is None
        assert wait_until(lambda: hold.lost, timeout=5)
    assert leases.holder(store.db, "sync").owner == "h/1/other"  # leaving the block released nothing of theirs
