"""The Wonolo desk assembled from its parts, each in the module named for its rule:

    cards     one card per job request, updated in place; job changes in its thread
    intake    webhooks and polling, both into cards
    alerts    the unfilled-shift alert, once per request
    actions   the buttons on cards and job replies, and their modals
    booking   /wonolo book and Book again, through bot.wonolo_desk.spend
    command   /wonolo and its lists
    summary   the digest's and App Home's Wonolo facts

Built by build_desk (called from the composition root, bot/app.py) from the
infrastructure only; the parts get each other as constructor arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.wonolo_desk.actions import Actions
from bot.wonolo_desk.alerts import UnfilledAlerts
from bot.wonolo_desk.blocks import WonoloSummary
from bot.wonolo_desk.booking import Bookings
from bot.wonolo_desk.cards import Cards
from bot.wonolo_desk.claims import Claims
from bot.wonolo_desk.command import WonoloCommand
from bot.wonolo_desk.intake import Poller, PollReport, Webhooks
from bot.wonolo_desk.spend import BookingSpend
from bot.wonolo_desk.summary import Summaries


@dataclass
class WonoloDesk:
    """The parts; the few calls from outside the desk (the web route, the jobs, the digest) are
    forwarded by name."""

    cards: Cards
    webhooks: Webhooks
    poller: Poller
    alerts: UnfilledAlerts
    actions: Actions
    bookings: Bookings
    command: WonoloCommand
    summaries: Summaries

    def receive(self, raw_body: bytes, token_header: str | None) -> tuple[str, dict]:
        return self.webhooks.receive(raw_body, token_header)

    def poll(self) -> PollReport | None:
        return self.poller.poll()

    def check_unfilled(self) -> int:
        return self.alerts.check_unfilled()

    def sync_request(self, job_request_id: str) -> tuple[str, str]:
        return self.cards.sync_request(job_request_id)

    def summary(self, now: datetime, *, fresh: bool = True) -> WonoloSummary:
        return self.summaries.summary(now, fresh=fresh)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return self.webhooks.retry_delays

    @retry_delays.setter
    def retry_delays(self, delays: tuple[float, ...]) -> None:
        self.webhooks.retry_delays = delays

    def close(self) -> None:
        self.webhooks.close()


def build_desk(services: Any) -> WonoloDesk:
    """The desk over the infrastructure (settings, store, slack, the Wonolo client, permissions)."""
    settings, store, slack, client = services.settings, services.store, services.slack, services.wonolo
    claims = Claims(store)
    alerts: UnfilledAlerts | None = None

    def after_sync(jr: Any, jobs: list) -> None:
        if alerts is not None:
            alerts.alert_if_unfilled(jr, jobs)

    cards = Cards(store, slack, client, settings.wonolo_channel, after_sync=after_sync)
    alerts = UnfilledAlerts(store, slack, client, channel=settings.wonolo_channel,
                            hours=settings.wonolo_unfilled_alert_hours, sync_request=cards.sync_request)
    return WonoloDesk(
        cards=cards,
        webhooks=Webhooks(store, cards, settings.wonolo_secret_key or ""),
        poller=Poller(store, client, cards),
        alerts=alerts,
        actions=Actions(services, cards, claims),
        bookings=Bookings(client=client, slack=slack, settings=settings, cards=cards, claims=claims,
                          spend=BookingSpend(services)),
        command=WonoloCommand(services, claims),
        summaries=Summaries(store, client),
    )
