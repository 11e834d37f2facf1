"""Incidents: judged every few seconds by the lease holder, posted once, cleared with a word.

Only the holder of the "incidents" lease (bot.leases) judges and posts, so several replicas
(or a `serve` beside another) post each incident once. Each incident is a stored row
(storage/incidents.py): a restart finds it open and announced, and does not post it again;
an announcement that failed (Slack down) is tried again at the next check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.incidents import blocks
from bot.incidents.conditions import Finding, budget, channel_refusals, credentials, sync_failing, webhook_signatures
from bot.leases import Lease
from bot.observability.signals import SIGNALS, Signals
from storage import incidents as store
from storage.db import utcnow

log = logging.getLogger("gigdesk.incidents")

CHECK_SECONDS_MAX = 15.0
CHANNEL_KEY = "slack_channel:"


class Incidents:
    def __init__(self, services, sync_health: Any, signals: Signals = SIGNALS):
        self.s = services
        self.sync = sync_health
        self.signals = signals
        settings = services.settings
        self.channel = settings.ops_channel or settings.review_channel
        self.lease = Lease(services.store, "incidents")

    @property
    def db(self):
        return self.s.store.db

    def findings(self) -> list[Finding]:
        s, settings = self.signals, self.s.settings
        found = [
            credentials(s, "rapidworkers"),
            budget(lambda: self.s.rw.budget.remaining(background=True, priority=True), settings.rw_hourly_limit),
            sync_failing(self.sync.last_ok_at, self.sync.started_at, self.sync.last_problem),
        ]
        if settings.wonolo_enabled:
            found += [credentials(s, "wonolo"), webhook_signatures(s)]
        known = [r.key.removeprefix(CHANNEL_KEY) for r in store.open_incidents(self.db) if r.key.startswith(CHANNEL_KEY)]
        return found + channel_refusals(s, known)

    def check(self) -> None:
        """Judge every condition and post what changed (lease holder only)."""
        if not self.channel:
            return
        with self.lease.held() as hold:
            if not hold.taken:
                return
            for finding in self.findings():
                try:
                    self._apply(finding)
                except Exception:
                    log.exception("incident %s: could not record or post it", finding.key)

    def _apply(self, finding: Finding) -> None:
        if finding.happening:
            if store.open_incident(self.db, finding.key, finding.title, utcnow()):
                log.warning("incident opened: %s", finding.key, extra={"incident": finding.key})
            row = store.get(self.db, finding.key)
            if row is not None and row.state == "open" and row.ts is None:
                self._announce(finding, row.opened_at)
        elif finding.happening is False:
            closed = store.close_incident(self.db, finding.key, utcnow())
            if closed is not None:
                log.info("incident cleared: %s", finding.key, extra={"incident": finding.key})
                if closed.ts is not None:  # announced: say that it cleared
                    text, body = blocks.recovery_message(finding.recovered, closed.detail, closed.opened_at)
                    self.s.slack.chat_postMessage(channel=closed.channel or self.channel, text=text, blocks=body, unfurl_links=False)

    def _announce(self, finding: Finding, opened_at: str) -> None:
        text, body = blocks.incident_message(finding.title, finding.todo, opened_at)
        channel = str(self.channel)
        response = self.s.slack.chat_postMessage(channel=channel, text=text, blocks=body, unfurl_links=False)
        store.announced(self.db, finding.key, str(response.get("channel") or channel), str(response["ts"]))


class IncidentWatch:
    """Runs Incidents.check every few seconds on a thread of its own (`gigdesk serve`)."""

    def __init__(self, incidents: Incidents, every: float, *, leading: Callable[[], bool] = lambda: True):
        self.incidents = incidents
        self.leading = leading  # only the leader replica checks (bot.leader)
        self.every = max(0.5, min(every, CHECK_SECONDS_MAX))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="incidents", daemon=True)

    def start(self) -> IncidentWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.leading():
                continue
            try:
                self.incidents.check()
            except Exception:
                log.exception("the incident check failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
