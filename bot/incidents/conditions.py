"""The conditions that make an incident, each judged from what this process has seen.

A condition says True (happening), False (cleared) or None (no word yet: leave a stored incident
as it is, e.g. right after a restart, before the first call to that API).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.observability.signals import Signals
from bot.slack.mrkdwn import escape, truncate

SYNC_FAILING_SECONDS = 300  # the review sync has failed for longer than this
SIGNATURE_WINDOW_SECONDS = 300
SIGNATURE_SPIKE = 10  # this many refused webhook signatures within the window


@dataclass(frozen=True)
class Finding:
    key: str  # the stored incident's key: one per kind (per channel for Slack refusals)
    happening: bool | None
    title: str = ""  # trusted mrkdwn: what broke
    todo: str = ""  # trusted mrkdwn: what to do
    recovered: str = ""  # trusted mrkdwn: the recovery message


# Per API: (incident key, what broke, what to do, the recovery).
CREDENTIALS = {
    "rapidworkers": (
        "rapidworkers_key",
        "RapidWorkers refused the API key (401/403): no sync, no decisions, no jobs.",
        "Create a new key in RapidWorkers (Account → API), set `RAPIDWORKERS_API_KEY` and restart gigdesk; `gigdesk check` tells when it is accepted.",
        "RapidWorkers accepts the API key again.",
    ),
    "wonolo": (
        "wonolo_auth",
        "Wonolo authentication fails: bookings and shift updates stopped.",
        "Check `WONOLO_API_KEY` and `WONOLO_SECRET_KEY` in Wonolo's settings (API keys), set them and restart gigdesk; `gigdesk check` tells when they work.",
        "Wonolo authentication works again.",
    ),
}


def credentials(signals: Signals, api: str) -> Finding:
    """The API's last word on our credentials was a refusal (401/403)."""
    key, title, todo, recovered = CREDENTIALS[api]
    return Finding(key, signals.credentials_refused(api), title, todo, recovered)


def budget(remaining: Callable[[], int], hourly_limit: int) -> Finding:
    """The review sync's share of the hourly RapidWorkers budget is used up (decisions keep the last slots)."""
    left = remaining()
    happening: bool | None = True if left <= 0 else (False if left >= max(1, hourly_limit // 10) else None)
    return Finding(
        "rapidworkers_budget", happening,
        f"The hourly RapidWorkers request budget is used up ({hourly_limit} per hour, `GIGDESK_RW_HOURLY_LIMIT`): the review sync waits.",
        "It frees up within the hour. If it happens often, raise `GIGDESK_RW_HOURLY_LIMIT` (if your RapidWorkers plan allows) or `GIGDESK_POLL_SECONDS`, and look for a busy `/rw` user in `/rw audit`.",
        "The hourly RapidWorkers budget has room again.",
    )


def sync_failing(last_ok_at: float | None, started_at: float, problem: str | None) -> Finding:
    """The review sync has not finished without errors for SYNC_FAILING_SECONDS (monotonic times)."""
    since = time.monotonic() - (last_ok_at if last_ok_at is not None else started_at)
    if problem is None:
        happening: bool | None = False if last_ok_at is not None else None
    else:
        happening = since > SYNC_FAILING_SECONDS or None
    return Finding(
        "review_sync", happening,
        f"The review sync has failed for over {SYNC_FAILING_SECONDS // 60} minutes: new submissions are not posted. The last attempt said: {truncate(escape(problem or ''), 500)}",
        "Check `/readyz` and the log; `gigdesk poll` runs one sync and prints what fails.",
        "The review sync works again.",
    )


def webhook_signatures(signals: Signals) -> Finding:
    count = signals.bad_signatures_within(SIGNATURE_WINDOW_SECONDS)
    happening: bool | None = True if count >= SIGNATURE_SPIKE else (False if count == 0 else None)
    return Finding(
        "webhook_signatures", happening,
        f"Wonolo webhooks with a wrong or missing token: {count} in {SIGNATURE_WINDOW_SECONDS // 60} minutes.",
        "If `WONOLO_SECRET_KEY` changed, set the new one and restart; otherwise someone is posting to `/wonolo/webhook` who should not: restrict it at your proxy.",
        "No more webhooks with a wrong token for 5 minutes.",
    )


def channel_refusals(signals: Signals, known: list[str]) -> list[Finding]:
    """Slack refused posts to a channel; `known`: channels with a stored open incident (cleared once a post there works)."""
    refused = signals.channel_refusals()
    findings = [
        Finding(
            f"slack_channel:{channel}", True,
            f"Slack refuses posts to <#{channel}> (`{refusal.error}`).",
            f"Invite the app to <#{channel}> (`/invite @gigdesk` in the channel), or change the setting or `/rw route` that names it.",
            f"Posts to <#{channel}> work again.",
        )
        for channel, refusal in refused.items()
    ]
    findings += [Finding(f"slack_channel:{channel}", None if channel not in signals.posted_channels() else False,
                         recovered=f"Posts to <#{channel}> work again.")
                 for channel in known if channel not in refused]
    return findings
