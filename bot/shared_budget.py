"""The RapidWorkers hourly budget kept in the database, so replicas share one (issue 23).

Same tiers and reserves as bot.rapidworkers.client.RequestBudget (decisions and the review sync
keep the last slots); only the window lives in storage/budget.py instead of this process's
memory, on the wall clock (every replica's clock, NTP-synchronised, not one process's monotonic).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.rapidworkers.client import RequestBudget
from storage import budget as budget_rows
from storage.db import Store


class SharedRequestBudget(RequestBudget):
    def __init__(self, store: Store, hourly_limit: int = 1000, interactive_reserve: int = 100, *,
                 priority_reserve: int = 0, window: float = 3600.0, clock: Callable[[], float] = time.time):
        super().__init__(hourly_limit, interactive_reserve, priority_reserve=priority_reserve, window=window, clock=clock)
        self.store = store

    def try_acquire(self, background: bool = False, priority: bool = False) -> bool:
        return budget_rows.take_slot(self.store.db, self._clock(), self.window, self._limit(background, priority))

    def used(self) -> int:
        return budget_rows.used(self.store.db, self._clock(), self.window)

    def seconds_until_free(self, background: bool = False, priority: bool = False) -> float:
        now = self._clock()
        used = budget_rows.used(self.store.db, now, self.window)
        excess = used - self._limit(background, priority)
        if excess < 0:
            return 0.0
        oldest = budget_rows.nth_in_window(self.store.db, now, self.window, excess)
        return self.window if oldest is None else max(0.0, oldest + self.window - now)
