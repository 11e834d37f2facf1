"""What `gigdesk serve` runs to be watched: GET /metrics on its own port
(GIGDESK_METRICS_HOST:GIGDESK_METRICS_PORT, never Slack's) and the incident watch.

The metrics are served by prometheus-client's own threaded server; the gauges are pointed at
this process's services when it starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import start_http_server

from bot.incidents.service import Incidents, IncidentWatch
from bot.observability import metrics
from storage import submissions as subs

log = logging.getLogger("gigdesk.metrics")


def _age_seconds(iso: str | None) -> float:
    if not iso:
        return 0.0
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - moment).total_seconds())


def oldest_waiting_seconds(db) -> float:
    """The age of the oldest posted submission still waiting (0: none waits)."""
    oldest = subs.waiting_summary(db)["oldest"]
    return _age_seconds(oldest.posted_at or oldest.claimed_at) if oldest is not None else 0.0


class Operations:
    """Started and stopped with `gigdesk serve` (bot.app.Serving): /metrics when
    GIGDESK_METRICS_PORT is set (0: none), and the incident watch."""

    def __init__(self, settings, services, sync_health: Any, *, leading: Callable[[], bool] | None = None):
        self.settings = settings
        self.services = services
        self.sync_health = sync_health
        self._server: Any = None
        self._thread: Any = None
        self.incidents = Incidents(services, sync_health)
        # Only where the background jobs run (not in Serving(jobs=False), whose tests drive the sync),
        # and there only while this replica is the leader (`leading`, bot.leader).
        self.watch = IncidentWatch(self.incidents, every=settings.poll_seconds, leading=leading) if leading else None

    @property
    def port(self) -> int | None:
        return self._server.server_port if self._server is not None else None

    def _since_good_sync(self) -> float:
        """This replica's or the leader's last good sync (SyncHealth.seconds_since_good), else since the start."""
        age = self.sync_health.seconds_since_good(self.services.store.db)
        return age if age is not None else time.monotonic() - self.sync_health.started_at

    def start(self) -> Operations:
        services = self.services
        metrics.watch(
            budget_left=lambda: services.rw.budget.remaining(priority=True),  # the whole hourly budget (decisions may use it all)
            oldest_waiting_seconds=lambda: oldest_waiting_seconds(services.store.db),
            since_good_sync=self._since_good_sync,
            pools={"work": services.work, "instant": services.instant},
        )
        port = self.settings.metrics_port
        if port:
            self._server, self._thread = start_http_server(port, addr=self.settings.metrics_host)
            log.info("metrics on http://%s:%s/metrics", self.settings.metrics_host, self.port)
        if self.watch is not None:
            self.watch.start()
        return self

    def stop(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
