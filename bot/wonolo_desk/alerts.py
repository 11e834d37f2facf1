"""Unfilled-shift alerts: once per job request, when it starts soon with open slots.

Once per job request (a wonolo_alerts row, claimed before posting), when it starts
within WONOLO_UNFILLED_ALERT_HOURS and has open slots, a message in WONOLO_CHANNEL
with Resend / Re-rank buttons. Checked after each sync of a card (webhook, poll,
click) and by a periodic pass (every UNFILLED_CHECK_MINUTES). A raised alert is
kept current (filled, cancelled, …) but never posted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack import ids
from bot.wonolo_desk import blocks as ui
from bot.wonolo_desk.common import describe, update_message
from bot.wonolo_desk.scan import scan_requests
from storage import audit as audit_store
from storage import wonolo as alerts_store

log = logging.getLogger("gigdesk.wonolo.desk")

UNFILLED_CHECK_MINUTES = 5  # the periodic unfilled-shift pass


def as_utc(moment: datetime) -> datetime:
    """Wonolo times without a zone are read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class UnfilledAlerts:
    """Raises and keeps current the unfilled-shift alert of each job request."""

    def __init__(self, store: Any, slack: Any, client: Any, *, channel: str, hours: int,
                 sync_request: Callable[[str], Any]):
        self.store = store
        self.slack = slack
        self.client = client
        self.channel = channel
        self.hours = hours  # WONOLO_UNFILLED_ALERT_HOURS; 0: no alerts
        self.sync_request = sync_request  # the card first (buttons there too), then the alert

    @property
    def db(self):
        return self.store.db

    def due(self, jr, unfilled: int, now: datetime) -> bool:
        """Starts within WONOLO_UNFILLED_ALERT_HOURS, not yet started, still recruiting, open slots."""
        if not self.hours or unfilled <= 0 or not ui.can_recruit(jr.state) or jr.start_time is None:
            return False
        return now <= as_utc(jr.start_time) <= now + timedelta(hours=self.hours)

    def alert_if_unfilled(self, jr, jobs) -> None:
        """Raise the request's one alert when it is due; keep a raised one current. Lock held; never raises."""
        try:
            self._alert(jr, jobs)
        except Exception as e:
            log.warning("unfilled-shift alert for job request %s failed: %s", jr.id, describe(e))

    def _alert(self, jr, jobs) -> None:
        key = str(jr.id)
        unfilled = ui.unfilled_slots(jr, jobs) or 0
        existing = alerts_store.alert(self.db, key)
        if existing is not None:
            self._keep_current(jr, existing, unfilled)
            return
        if not self.due(jr, unfilled, datetime.now(UTC)):
            return
        start = jr.start_time.isoformat() if jr.start_time else None
        if not alerts_store.claim_alert(self.db, key, start, unfilled, self.channel):
            return  # another check raised it just now
        text, blocks = ui.unfilled_alert(jr, unfilled)
        try:
            response = self.slack.chat_postMessage(channel=self.channel, text=text, blocks=blocks,
                                                   unfurl_links=False, unfurl_media=False)
        except BaseException:
            alerts_store.release_alert(self.db, key)  # the next check tries again
            raise
        alerts_store.record_alert(self.db, key, response["channel"], response["ts"], f"{jr.state}:{unfilled}")
        audit_store.audit(self.db, None, ids.WONOLO_UNFILLED_ALERT, key, "raised", f"{unfilled} open slots")
        log.info("unfilled-shift alert raised for Wonolo job request %s (%d open slots)", key, unfilled)

    def _keep_current(self, jr, existing: alerts_store.AlertRow, unfilled: int) -> None:
        """Raised before: only rebuilt when what it offers changes (filled, cancelled, …)."""
        rendered = f"{jr.state}:{unfilled}"
        channel, ts = existing["channel"], existing["ts"]
        if channel and ts and existing["rendered"] != rendered:
            text, blocks = ui.unfilled_alert(jr, unfilled)
            if update_message(self.slack, channel, ts, text, blocks):
                alerts_store.record_alert(self.db, str(jr.id), channel, ts, rendered)

    def check_unfilled(self) -> int:
        """The periodic pass: raise the alert of every request that is due. How many were raised."""
        if not self.hours:
            return 0
        now = datetime.now(UTC)
        due = {str(jr.id): jr for state in sorted(ui.RECRUITING_STATES) for jr in scan_requests(self.client, state)
               if self.due(jr, ui.unfilled_slots(jr, None) or 0, now)}
        raised = 0
        for key in sorted(set(due) - alerts_store.alerted(self.db, list(due))):
            try:
                self.sync_request(key)
            except Exception as e:
                log.warning("unfilled-shift check of job request %s failed: %s", key, describe(e))
                continue
            row = alerts_store.alert(self.db, key)
            raised += bool(row and row.get("ts"))
        return raised
