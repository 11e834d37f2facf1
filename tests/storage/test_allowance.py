"""The per-person `/rw` allowance is one allowance across replicas (storage/allowance.py):
two processes on one database (two Stores, as two replicas) count against it together, at the
boundary, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from bot.rw.fair_use import Allowance, TryLater
from tests.support.clock import Clock

pytestmark = pytest.mark.unit_on_sqlite  # both backends; the SQLite run is unit tier


def test_two_replicas_give_a_person_one_allowance_and_free_it_as_the_window_slides(db_backend, two_processes):
    clock = Clock()
    start = clock.now
    first, second = (Allowance(store, per_window=3, window=60.0, clock=clock) for store in two_processes)
    first.take("U1")
    clock.now += 10
    second.take("U1")
    clock.now += 10
    first.take("U1")  # the third and last of the minute, counted on either replica
    clock.now += 10
    for replica in (first, second):
        with pytest.raises(TryLater) as refused:
            replica.take("U1")
        assert refused.value.seconds == 30  # the first call (at +0) leaves the window at +60; now is +30
    second.take("U2")  # each person has an allowance of their own
    clock.now = start + 60 - 0.001  # just inside the window: still refused
    with pytest.raises(TryLater):
        second.take("U1")
    clock.now = start + 60  # the first call leaves the window: exactly one call is free again
    second.take("U1")
    with pytest.raises(TryLater):
        first.take("U1")


def test_concurrent_calls_on_two_replicas_never_pass_the_allowance(db_backend, two_processes):
    clock = Clock()
    allowances = [Allowance(store, per_window=3, window=60.0, clock=clock) for store in two_processes]
    taken: list[bool] = []
    start = threading.Barrier(10)

    def call(n: int) -> None:
        start.wait()
        try:
            allowances[n % 2].take("U1")
            taken.append(True)
        except TryLater:
            taken.append(False)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(taken) == [False] * 7 + [True] * 3
