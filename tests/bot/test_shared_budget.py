"""The RapidWorkers hourly budget lives in the database: two processes (two Stores on one
database, as two replicas) together never send more than the hourly limit, and the tiers and
reserves of RequestBudget hold across them. On both backends."""

from __future__ import annotations

import threading

import pytest

from bot.shared_budget import SharedRequestBudget
from tests.support.clock import Clock

pytestmark = pytest.mark.unit_on_sqlite


def test_two_replicas_together_stay_within_the_hourly_limit(two_processes):
    clock = Clock()
    budgets = [SharedRequestBudget(store, 20, 2, priority_reserve=4, clock=clock) for store in two_processes]
    taken: list[bool] = []
    lock = threading.Lock()

    def spend(budget: SharedRequestBudget) -> None:
        for _ in range(15):
            ok = budget.try_acquire(priority=True)
            with lock:
                taken.append(ok)

    threads = [threading.Thread(target=spend, args=(b,)) for b in budgets for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert taken.count(True) == 20 and len(taken) == 60
    assert budgets[0].used() == budgets[1].used() == 20
    assert budgets[1].seconds_until_free(priority=True) == pytest.approx(3600.0)
    clock.now += 3600.0  # the window slid past every request
    assert budgets[1].try_acquire() and budgets[0].used() == 1


def test_the_reserves_hold_across_replicas(two_processes):
    clock = Clock()
    first, second = (SharedRequestBudget(store, 10, 2, priority_reserve=3, clock=clock) for store in two_processes)
    assert sum(first.try_acquire(background=True) for _ in range(10)) == 5  # 10 - 2 interactive - 3 priority
    assert not second.try_acquire(background=True)
    assert sum(second.try_acquire() for _ in range(10)) == 2  # a person's command: the interactive slots
    assert sum(second.try_acquire(priority=True) for _ in range(10)) == 3  # decisions keep the last ones
    assert first.remaining(priority=True) == 0
