"""The daily digest, its schedule, and the App Home dashboard.

At most one *scheduled* digest per local day, even across restarts and two
processes: its `digests` row is claimed first (a partial unique index on the
day makes a second claim fail), then the message is posted, then its ts is
recorded. If posting fails the claim is deleted so a retry can post; if the
process dies between posting and recording, the claim stays and the day is
not posted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from apscheduler.triggers.cron import CronTrigger
from slack_sdk.errors import SlackApiError

from bot.digest import alerts
from bot.digest.blocks import DigestData, ReviewerTally, Waiting, digest_message
from bot.digest.home import HomeData, home_view
from bot.errors import UserError
from bot.observability.home_health import health_for
from bot.rapidworkers.client import RapidWorkersError
from bot.reports.service import ReportService
from bot.services import Services
from bot.slack.mrkdwn import date_token
from bot.wonolo_desk.desk import WonoloDesk
from storage import attention
from storage import audit as audit_store
from storage import campaigns as campaign_store
from storage import digests as digest_rows
from storage import forensics as proof_records
from storage import jobs as job_store
from storage import submissions as subs
from storage.db import utcnow

log = logging.getLogger("gigdesk.digest")

JOB_ID = "daily-digest"
CATCH_UP_JOB_ID = "daily-digest-catch-up"
RETRY_JOB_ID = "daily-digest-retry"
MISFIRE_GRACE_SECONDS = 12 * 3600  # a late run still posts if it is the same local day (see catch_up)
RETRY_MINUTES = 5
MAX_RETRIES_PER_DAY = 12
HOME_CACHE_SECONDS = 20.0


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _iso(dt: datetime) -> str:
    """Same format as storage.db.utcnow(), so stored times compare as strings."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


class DigestService:
    """Builds and posts digests, schedules the daily one, renders the App Home."""

    def __init__(self, services: Services, *, reports: ReportService | None = None, wonolo_desk: WonoloDesk | None = None):
        self.s = services
        self.reports = reports  # posts the week's picture with the week's first digest
        self.wonolo_desk = wonolo_desk  # its summary in the digest and the App Home (None: Wonolo not configured)
        self.settings = services.settings
        self._scheduler = None
        self._run_lock = threading.Lock()
        self._retries: dict[str, int] = {}
        self._home_lock = threading.Lock()
        self._home_cache: tuple[float, tuple] | None = None

    @property
    def db(self):
        return self.s.store.db

    # --- time ------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(self.settings.tz)

    def scheduled_at(self, day: date) -> datetime:
        """The digest time on a local day (a time skipped by DST maps forward, like the cron)."""
        naive = datetime.combine(day, dtime(self.settings.digest_hour, self.settings.digest_minute))
        aware = naive.replace(tzinfo=self.settings.tz)
        # Round-trip through UTC normalises a nonexistent wall time (spring forward).
        return aware.astimezone(UTC).astimezone(self.settings.tz)

    def is_due(self, now: datetime | None = None) -> bool:
        """Has today's digest time passed (local zone)?"""
        now = now or self.now()
        return now >= self.scheduled_at(now.date())

    # --- gathering ---------------------------------------------------------------------

    def _last_posted(self, exclude_id: int | None = None) -> dict | None:
        """The last digest actually posted that recorded a balance."""
        return digest_rows.last_posted(self.db, exclude_id)

    def _rapidworkers(self, *, background: bool) -> tuple[Decimal | None, list | None, str | None]:
        """(balance, campaigns, error): a failure of one call leaves the other's result."""
        rw = self.s.rw.background_view() if background else self.s.rw
        balance = campaigns = None
        errors: list[str] = []
        try:
            balance = rw.get_balance()
        except RapidWorkersError as e:
            errors.append(str(e))
        try:
            campaigns = rw.list_campaigns()
        except RapidWorkersError as e:
            errors.append(str(e))
        # "RapidWorkers: …" reads twice after "RapidWorkers unavailable:"
        errors = [e.removeprefix("RapidWorkers: ") for e in errors]
        return balance, campaigns, " / ".join(dict.fromkeys(errors)) or None

    def _waiting(self) -> Waiting:
        summary = subs.waiting_summary(self.db)
        oldest = summary["oldest"]
        if not summary["count"] or oldest is None:
            return Waiting(count=summary["count"])
        link = None
        if oldest.channel and oldest.ts:
            try:
                link = self.s.slack.chat_getPermalink(channel=oldest.channel, message_ts=oldest.ts).get("permalink")
            except SlackApiError as e:
                log.info("no permalink for submission %s: %s", oldest.submission_id, e.response.get("error"))
            except Exception as e:
                log.info("no permalink for submission %s: %s", oldest.submission_id, type(e).__name__)
        return Waiting(
            flagged=proof_records.suspicious_waiting_count(self.db),
            count=summary["count"],
            oldest_id=oldest.submission_id,
            oldest_title=oldest.data.get("campaign_title"),
            oldest_since=oldest.posted_at or oldest.claimed_at,
            oldest_link=link,
        )

    def _spend_and_reviewers(self, since: str) -> tuple[int, Decimal, int, Decimal, list[ReviewerTally]]:
        jobs = job_store.jobs_since(self.db, since)
        jobs_cost = sum((_dec(j.get("cost")) or Decimal("0") for j in jobs), Decimal("0"))
        approvals, paid = 0, Decimal("0")
        tally: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
        for row in subs.recent_decisions(self.db, since):
            outcome = row.outcome or row.state
            if outcome == "approved":
                approvals += 1
                paid += _dec(row.amount_paid) or _dec(row.data.get("pay")) or Decimal("0")
                tally[row.decided_by][0] += 1
            elif outcome == "rejected":
                tally[row.decided_by][1] += 1
        reviewers = [ReviewerTally(user, a, r) for user, (a, r) in tally.items()]
        reviewers.sort(key=lambda t: (t.user_id is None, -t.total, t.user_id or ""))
        return len(jobs), jobs_cost, approvals, paid, reviewers

    def _newly_completed(self, campaigns: list | None) -> list:
        """Completed campaigns no digest has reported yet (campaigns.completed_seen_at)."""
        if not campaigns:
            return []
        seen = campaign_store.campaign_counts(self.db)
        return [c for c in campaigns if c.status == "Completed" and not (seen.get(c.id) or {}).get("completed_seen_at")]

    def _mark_completed(self, campaigns: list) -> None:
        if not campaigns:
            return
        campaign_store.mark_completed_seen(self.db, [
            {"campaign_id": c.id, "title": c.title, "status": c.status, "pending": c.pending,
             "approved": c.approved, "rejected": c.rejected, "completed": c.completed, "total": c.total}
            for c in campaigns
        ])

    def gather(self, kind: str = "manual", *, exclude_id: int | None = None) -> tuple[DigestData, list]:
        """The digest's facts, and the campaigns to mark as reported once it is posted."""
        now = self.now()
        balance, campaigns, error = self._rapidworkers(background=kind == "scheduled")
        previous = self._last_posted(exclude_id)
        since = _iso(now - timedelta(hours=24))
        jobs, jobs_cost, approvals, paid, reviewers = self._spend_and_reviewers(since)
        completed = self._newly_completed(campaigns)
        data = DigestData(
            day_label=_day_label(now.date()),
            now_epoch=now.timestamp(),
            kind=kind,
            balance=balance,
            previous_balance=_dec(previous["balance"]) if previous else None,
            rw_error=error,
            low=alerts.assess(self.s, balance) if balance is not None else None,
            jobs_count=jobs,
            jobs_cost=jobs_cost,
            approvals_count=approvals,
            approvals_paid=paid,
            active=[c for c in campaigns or [] if c.status == "Active"],
            reviewers=reviewers,
            waiting=self._waiting(),
            completed=completed,
            wonolo=self._wonolo(now, fresh=True),
            second_approvals=attention.second_approvals_waiting(self.db, utcnow()),
        )
        return data, completed

    def _wonolo(self, now: datetime, *, fresh: bool):
        """The Wonolo facts (bot.wonolo_desk), or None when Wonolo is not configured."""
        desk = self.wonolo_desk
        return desk.summary(now, fresh=fresh) if desk is not None else None

    # --- building and posting -------------------------------------------------------------

    def build(self) -> dict:
        """The digest as it would be posted now: {"channel", "text", "blocks"}. Posts nothing."""
        data, _ = self.gather("manual")
        text, blocks = digest_message(data)
        return {"channel": self.settings.digest_channel, "text": text, "blocks": blocks}

    def _claim(self, kind: str, day: str, channel: str) -> int | None:
        """Insert the digests row; None when today's scheduled digest is taken already."""
        return digest_rows.claim(self.db, kind, day, channel)

    def _release(self, row_id: int) -> None:
        digest_rows.release(self.db, row_id)

    def _record(self, row_id: int, channel: str, ts: str, balance: Decimal | None) -> None:
        digest_rows.record(self.db, row_id, channel, ts, str(balance) if balance is not None else None)

    def scheduled_posted(self, day: str) -> bool:
        return digest_rows.scheduled_posted(self.db, day)

    def post(self, kind: str = "manual") -> dict:
        """Post a digest now: {"channel", "ts", "posted"}.

        kind="scheduled" posts only if today's scheduled digest was not posted
        (or claimed) before; "manual" always posts. Raises UserError when
        Slack refuses the message (the claim is released so it can be retried).
        """
        if kind not in ("manual", "scheduled"):
            raise ValueError(f"unknown digest kind {kind!r}")
        channel = cast(str, self.settings.digest_channel)  # `digest --dry-run` builds, never posts, without one
        day = self.now().date().isoformat()
        row_id = self._claim(kind, day, channel)
        if row_id is None:
            return {"channel": channel, "ts": None, "posted": False}
        try:
            data, completed = self.gather(kind, exclude_id=row_id)
            text, blocks = digest_message(data)
            response = self.s.slack.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as e:
            self._release(row_id)
            raise UserError(f"Could not post the digest: Slack said {e.response.get('error', 'unknown_error')}.") from None
        except BaseException:
            self._release(row_id)
            raise
        self._record(row_id, response["channel"], response["ts"], data.balance)
        self._mark_completed(completed)
        log.info("%s digest posted to %s at %s", kind, response["channel"], response["ts"])
        self._weekly_picture(response["channel"])
        if data.balance is not None:
            try:
                alerts.check_balance(self.s, data.balance)
            except Exception:
                log.exception("low-balance check failed")
        return {"channel": response["channel"], "ts": response["ts"], "posted": True}

    def _weekly_picture(self, channel: str) -> None:
        """The week's first digest also posts last week's picture (bot/reports/weekly.py, once a
        week); a failure there never fails the digest."""
        if self.reports is None:
            return
        try:
            self.reports.post_weekly_picture(channel)
        except Exception:
            log.exception("the weekly picture failed")

    # --- schedule ---------------------------------------------------------------------------

    def schedule(self, scheduler, when: Callable[[], bool] = lambda: True) -> None:
        """The daily cron job at GIGDESK_DIGEST_AT in GIGDESK_TZ, and a catch-up run at start;
        each does nothing unless `when()` (replicas: only the leader posts, bot.leader)."""
        self._scheduler = scheduler
        scheduler.add_job(
            lambda: self.run_scheduled() if when() else None,
            CronTrigger(hour=self.settings.digest_hour, minute=self.settings.digest_minute, timezone=self.settings.tz),
            id=JOB_ID,
            name="daily digest",
            replace_existing=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            lambda: self.catch_up_at_start() if when() else None, "date", id=CATCH_UP_JOB_ID, name="missed digest catch-up",
            replace_existing=True, misfire_grace_time=None,
        )

    def catch_up_at_start(self) -> dict | None:
        """The start-up catch-up, except on the very first start of a fresh install:
        nothing was missed yet, and a digest nobody asked for is a bad first impression."""
        if self.s.store.fresh:
            log.info("first start of a new install: no catch-up digest (the first one comes at GIGDESK_DIGEST_AT)")
            return None
        return self.catch_up()

    def run_scheduled(self) -> dict | None:
        """The cron job: post today's scheduled digest unless it was posted already."""
        return self.catch_up()

    def catch_up(self) -> dict | None:
        """Post today's scheduled digest if its time has passed and it was not posted.

        Safe to call any number of times, from several threads or processes:
        the day's claim lets one post. Never raises; a failure is retried in
        a few minutes when a scheduler is known.
        """
        with self._run_lock:
            now = self.now()
            day = now.date().isoformat()
            if not self.is_due(now) or self.scheduled_posted(day):
                return None
            try:
                result = self.post(kind="scheduled")
            except Exception as e:
                log.warning("scheduled digest failed: %s", e)
                self._retry_later(day)
                return None
            self._retries.pop(day, None)
            return result

    def _retry_later(self, day: str) -> None:
        if self._scheduler is None:
            return
        tries = self._retries.get(day, 0) + 1
        self._retries[day] = tries
        if tries > MAX_RETRIES_PER_DAY:
            log.error("giving up on the scheduled digest of %s after %d tries", day, tries - 1)
            return
        try:
            self._scheduler.add_job(
                self.catch_up, "date", run_date=self.now() + timedelta(minutes=RETRY_MINUTES),
                id=RETRY_JOB_ID, replace_existing=True, misfire_grace_time=None,
            )
        except Exception:
            log.exception("could not schedule a digest retry")

    # --- App Home ----------------------------------------------------------------------------

    def _home_rapidworkers(self, fresh: bool) -> tuple[Decimal | None, list | None, str | None, bool]:
        """RapidWorkers facts for the home, cached briefly so opening the tab is cheap.

        `fresh` (Refresh, Post digest): numbers fetched after the click. A burst
        of clicks waiting here shares the next fetch instead of one fetch each.
        """
        asked_at = time.monotonic()
        with self._home_lock:
            cached = self._home_cache
            if cached is not None:
                started = cached[0]
                if (started >= asked_at) if fresh else (asked_at - started < HOME_CACHE_SECONDS):
                    return (*cached[1], False)
            started = time.monotonic()
            result = self._rapidworkers(background=False)
            self._home_cache = (started, result)
            return (*result, True)

    def home(self, status: str | None = None, *, fresh: bool = False, user_id: str | None = None) -> dict:
        """The App Home view. RapidWorkers trouble becomes one line, never a failure."""
        balance, campaigns, error, fetched = self._home_rapidworkers(fresh)
        data = HomeData(
            now_epoch=time.time(),
            balance=balance,
            rw_error=error,
            low=alerts.assess(self.s, balance) if balance is not None else None,
            active=[c for c in campaigns or [] if c.status == "Active"],
            waiting=self._waiting(),
            decisions=subs.recent_decisions(self.db, "", limit=10),
            status=status,
            wonolo=self._wonolo(self.now(), fresh=fresh),
            second_approvals=attention.second_approvals_waiting(self.db, utcnow()),
            health=health_for(self.s, user_id),
        )
        if fetched and balance is not None:
            try:
                alerts.check_balance(self.s, balance)
            except Exception:
                log.exception("low-balance check failed")
        return home_view(data)

    def publish_home(self, user_id: str, status: str | None = None, *, fresh: bool = False) -> None:
        self.s.slack.views_publish(user_id=user_id, view=self.home(status, fresh=fresh, user_id=user_id))

    def post_from_home(self, user_id: str) -> str:
        """The Post digest now button: the status line to show on the home."""
        try:
            allowed = self.s.permissions.may_review(user_id)
        except SlackApiError as e:
            return f":warning: Could not check who may post the digest: Slack said {e.response.get('error')}."
        if not allowed:
            self.s.permissions.refuse(user_id, "digest", None, "Only reviewers can post the digest.")  # audited; the home shows it
            return ":no_entry: Only reviewers can post the digest."
        try:
            result = self.post(kind="manual")
        except UserError as e:
            audit_store.audit(self.db, user_id, "digest", None, "failed", str(e))
            return f":warning: {e}"
        audit_store.audit(self.db, user_id, "digest", result["ts"], "posted")
        return f":white_check_mark: Digest posted in <#{result['channel']}> at {date_token(time.time(), 'just now', '{time}')}."
