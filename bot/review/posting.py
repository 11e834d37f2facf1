"""Posting: each pending submission is posted once, as a card or a row of a batch message.

One sync at a time (a lock in this process, the `review-sync` lease across processes). Each
submission is claimed in the database before its post; a claim whose post was never recorded
is looked for in its channel by the message metadata before it is posted again (recovery).
Submissions decided on the website meanwhile are settled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.config import Settings
from bot.connectivity import slack_outage
from bot.leases import Hold, Lease, abandoned, this_process
from bot.observability import metrics
from bot.rapidworkers.client import Campaign, RapidWorkersClient, RapidWorkersError, Submission
from bot.review.cards import Cards
from bot.review.proof_checks import ProofCheckQueue
from bot.review.render import BATCH_SIZE, batch_metadata, metadata
from bot.slack import errors as slack_errors
from bot.slack import ids
from bot.slack.image_fallback import send_with_image_fallback
from storage import campaigns as campaign_store
from storage import routes as route_store
from storage import submissions as subs
from storage.db import Database, Store
from storage.rows import SubmissionRow

log = logging.getLogger("gigdesk.review")

NOT_POSTED_ERRORS = slack_errors.NOT_POSTED  # a chat.postMessage certainly did not post

ProgressCallback = Callable[[int, int], None]  # (done, total) of a sync

@dataclass
class SyncReport:
    campaigns_checked: int = 0
    campaigns_changed: int = 0
    posted: int = 0
    recovered: int = 0
    skipped: int = 0
    settled: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    slack_down: str | None = None  # set at the first outage: the cycle posts nothing more
    busy: str | None = None  # another process was syncing (who): this cycle did nothing

    def stop_posting(self, outage: str) -> None:
        """Slack is unreachable or failing: one line for it, and no more posts this cycle."""
        if self.slack_down is None:
            self.slack_down = outage
            self.errors.append(f"{outage}. Nothing more was posted; the next poll posts the rest, each submission once.")

    def summary(self) -> str:
        if self.busy:
            return f"another review sync is running ({self.busy}): it posts what is pending; nothing was done here"
        text = (
            f"campaigns checked: {self.campaigns_checked}, changed: {self.campaigns_changed}, "
            f"posted: {self.posted}, recovered: {self.recovered}, already posted: {self.skipped}, "
            f"settled: {self.settled}, failed: {self.failed}"
        )
        return text + "".join(f"\n  ! {e}" for e in self.errors)


def _describe(e: RapidWorkersError) -> str:
    """An API error for the sync report: what RapidWorkers said, and the HTTP status."""
    text = str(e) if str(e).startswith("RapidWorkers") else f"RapidWorkers: {e}"
    if e.status and str(e.status) not in text:
        text += f" (HTTP {e.status})"
    return text


def _counts(c: Campaign) -> dict:
    return {
        "campaign_id": c.id,
        "title": c.title,
        "status": c.status,
        "pending": c.pending,
        "approved": c.approved,
        "rejected": c.rejected,
        "completed": c.completed,
        "total": c.total,
        "proof_required_description": c.proof_required_description,
    }


def _changed(c: Campaign, seen: dict | None) -> bool:
    if seen is None:
        return True
    return any(seen.get(k) != v for k, v in _counts(c).items() if k in ("pending", "approved", "rejected", "status"))


class Posting:
    """The review sync: claim, post, recover, settle what was decided elsewhere."""

    def __init__(self, settings: Settings, store: Store, slack: WebClient, rw: RapidWorkersClient, cards: Cards,
                 checks: ProofCheckQueue | None, *, post_interval: float = 1.0) -> None:
        self.settings = settings
        self.store = store
        self.slack = slack
        self.rw = rw
        self.cards = cards
        self.checks = checks
        self.post_interval = post_interval
        self._sync_lock = threading.Lock()
        # One sync at a time across processes too (serve, poll, a second serve): its claims'
        # heartbeat goes with the lease's, so recovery never takes a live process's claim.
        self.sync_lease = Lease(store, "review-sync", on_beat=lambda now: subs.beat_claims(self.db, this_process().id, now))
        self._hold: Hold | None = None
        self._last_post: dict[str, float] = {}  # per channel: Slack's limit is per channel
        self.stopping = threading.Event()

    @property
    def db(self) -> Database:
        return self.store.db

    def _check_proofs(self, rows: list[SubmissionRow]) -> None:
        """Queue the proof checks of just-posted submissions; their cards update when each is done."""
        if self.checks is not None:
            self.checks.queue([(row.submission_id, row.data) for row in rows])

    def sync(self, progress: ProgressCallback | None = None) -> SyncReport:
        """One review sync cycle; concurrent calls wait for the running one. While another process
        holds the sync lease, nothing is done (the report says who)."""
        with self._sync_lock, self.sync_lease.held() as hold:
            report = SyncReport()
            if not hold.taken:
                report.busy = hold.describe_holder()
                return report
            self._hold = hold  # the posting loop stops if it is lost
            self._repost_unrecorded(report)
            rw = self.rw.sync_view()  # the sync may use the priority reserve
            try:
                campaigns = rw.list_campaigns()
            except RapidWorkersError as e:
                report.errors.append(_describe(e))
                return report
            seen = campaign_store.campaign_counts(self.db)
            active = [c for c in campaigns if c.status == "Active"]
            report.campaigns_checked = len(active)
            todo: list[tuple[Campaign, list[Submission]]] = []
            for campaign in campaigns:
                if campaign.status != "Active":
                    if _changed(campaign, seen.get(campaign.id)):
                        campaign_store.save_campaign_counts(self.db, [_counts(campaign)])
                    continue
                if not _changed(campaign, seen.get(campaign.id)):
                    continue
                report.campaigns_changed += 1
                try:
                    pending = rw.list_submissions(campaign.id, status="Pending")
                except RapidWorkersError as e:
                    report.errors.append(f"campaign {campaign.id}: {_describe(e)}")
                    continue
                todo.append((campaign, pending))
                self._settle_vanished(campaign, pending, report)

            new_by_channel = self._new_by_channel(todo, report)
            total = sum(len(p) for _, p in todo)
            counter = [total - sum(len(n) for n in new_by_channel.values())]  # the already-known ones are done

            def step(n: int) -> None:
                counter[0] += n
                if progress:
                    progress(counter[0], total)

            incomplete = self._post_per_channel(new_by_channel, report, step)
            for campaign, _ in todo:
                if campaign.id not in incomplete:
                    campaign_store.save_campaign_counts(self.db, [_counts(campaign)])
            if self.checks is not None:
                self.checks.resume()
            return report

    def _new_by_channel(self, todo: list[tuple[Campaign, list[Submission]]], report: SyncReport) -> dict[str, list[tuple[Campaign, Submission]]]:
        """The submissions not claimed before, per target channel (its route, else the review channel), oldest first."""
        routes = route_store.all_routes(self.db)
        default = cast(str, self.settings.review_channel)  # the review service runs only with a channel
        found: dict[str, list[tuple[Campaign, Submission]]] = {}
        for campaign, pending in todo:
            known = subs.known_ids(self.db, [p.id for p in pending])
            report.skipped += len(known)
            channel = routes.get(campaign.id, default)
            for submission in sorted(pending, key=lambda p: (p.submitted_at or datetime.min.replace(tzinfo=UTC), p.id)):
                if submission.id not in known:
                    found.setdefault(channel, []).append((campaign, submission))
        return found

    def _post_per_channel(self, new_by_channel: dict[str, list[tuple[Campaign, Submission]]], report: SyncReport,
                          step: Callable[[int], None]) -> set[str]:
        """Post every channel's new submissions, one message each or, past GIGDESK_BATCH_ABOVE for
        that channel, batch messages of up to BATCH_SIZE. Paced per channel, and always the channel
        that may post soonest next: a backlog in one channel never holds up another.
        Returns the campaigns with a submission not posted (their counts are not saved)."""
        queues: dict[str, deque[list[tuple[Campaign, Submission]]]] = {}
        for channel, items in new_by_channel.items():
            size = BATCH_SIZE if len(items) > self.settings.batch_above else 1
            queues[channel] = deque(items[i:i + size] for i in range(0, len(items), size))
        incomplete: set[str] = set()
        while queues:
            channel = min(queues, key=lambda ch: self._last_post.get(ch, 0.0))
            unit = queues[channel].popleft()
            if not queues[channel]:
                del queues[channel]
            if self._hold is not None and self._hold.lost:
                report.stop_posting("this process lost the review-sync lease (too slow to renew it), so another may be syncing")
            if report.slack_down or self.stopping.is_set():  # not claimed: the next sync posts them
                incomplete.update(c.id for c, _ in unit)
                continue
            posted = self._post_unit(channel, unit, report, batch=len(new_by_channel[channel]) > self.settings.batch_above)
            if not posted:
                incomplete.update(c.id for c, _ in unit)
            step(len(unit))
        return incomplete

    def _post_unit(self, channel: str, unit: list[tuple[Campaign, Submission]], report: SyncReport, *, batch: bool) -> bool:
        """Claim the unit's submissions, then post them: one message, or one batch message."""
        rows: list[SubmissionRow] = []
        for campaign, submission in unit:
            data = submission.to_dict()
            data["pay"] = str(campaign.pay)
            data["campaign_title"] = data.get("campaign_title") or campaign.title
            data["proof_required_description"] = campaign.proof_required_description
            if subs.claim(self.db, submission.id, campaign.id, submission.worker_id, data, target_channel=channel,
                          batch_row=len(rows) if batch else None, owner=this_process().id):
                rows.append(cast(SubmissionRow, subs.get(self.db, submission.id)))  # just claimed
            else:
                report.skipped += 1
        if not rows:
            return True
        if batch:
            return self._post_batch(rows, channel, report)
        return all([self._post_claimed(row, report) for row in rows])

    def _post_batch(self, rows: list[SubmissionRow], channel: str, report: SyncReport, *, recovered: bool = False) -> bool:
        """Post claimed submissions as one batch message whose metadata names them all; record
        each row (channel, ts, row index); on a certain failure, release every claim."""
        self._pace(channel)
        sids = [r.submission_id for r in rows]
        try:
            response = send_with_image_fallback(
                lambda with_images: self.cards.render_batch(rows, with_images=with_images),
                lambda text, blocks: self.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=batch_metadata(rows),
                                                                 unfurl_links=False, unfurl_media=False))
        except Exception as e:
            self._post_failed(e, f"submissions {sids[0]}–{sids[-1]}", report, count=len(rows))
            if isinstance(e, SlackApiError) and e.response.get("error") in NOT_POSTED_ERRORS:
                for sid in sids:
                    subs.release_claim(self.db, sid)
            # Otherwise it may be in the channel: the next sync looks for it by its metadata.
            return False
        subs.mark_batch_posted(self.db, sids, response["channel"], response["ts"])
        metrics.posted(len(sids))
        self._check_proofs(rows)
        if recovered:
            report.recovered += len(rows)
        else:
            report.posted += len(rows)
        return True

    def _post_failed(self, e: Exception, what: str, report: SyncReport, *, count: int = 1) -> None:
        report.failed += count
        outage = slack_outage(e, self.settings.slack_api_url)
        if outage:
            report.stop_posting(outage)
        elif isinstance(e, SlackApiError):
            report.errors.append(f"{what}: Slack said {e.response.get('error', 'unknown_error')}")
        else:
            report.errors.append(f"{what}: could not post ({type(e).__name__})")

    def _post_claimed(self, row: SubmissionRow, report: SyncReport, *, recovered: bool = False) -> bool:
        """Post a claimed submission; record it; on a certain failure, release the claim."""
        channel = row.target_channel or cast(str, self.settings.review_channel)
        self._pace(channel)
        try:
            response = self._post(row, channel)
        except Exception as e:
            self._post_failed(e, f"submission {row.submission_id}", report)
            if isinstance(e, SlackApiError) and e.response.get("error") in NOT_POSTED_ERRORS:
                subs.release_claim(self.db, row.submission_id)
            # Otherwise (5xx, timeout, network) it may be in the channel: the next sync
            # looks for it by its metadata before posting again.
            return False
        subs.mark_posted(self.db, row.submission_id, response["channel"], response["ts"])
        metrics.posted()
        self._check_proofs([row])
        if recovered:
            report.recovered += 1
        else:
            report.posted += 1
        return True

    def _post(self, row: SubmissionRow, channel: str) -> SlackResponse:
        return send_with_image_fallback(
            lambda with_images: self.cards.render(row, with_images=with_images),
            lambda text, blocks: self.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata(row),
                                                             unfurl_links=False, unfurl_media=False))

    def _pace(self, channel: str) -> None:
        """Keep chat.postMessage near Slack's one message per second per channel."""
        wait = self._last_post.get(channel, 0.0) + self.post_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_post[channel] = time.monotonic()

    def _repost_unrecorded(self, report: SyncReport) -> None:
        """Claims without a recorded message: find them in their channel, else post again.

        Only abandoned claims (ours, or their owner gone or silent past the lease time): a live
        process's claim may be in the middle of its post, not yet in the channel's history."""
        me = this_process()
        by_channel: dict[str, list[SubmissionRow]] = {}
        for claim in subs.unposted(self.db):
            if not abandoned(claim.claimed_by, claim.claim_heartbeat, me):
                continue
            if claim.claimed_by != me.id and not subs.take_over_claim(self.db, claim.submission_id, me.id, claim.claimed_by):
                continue  # taken over by someone else meanwhile
            by_channel.setdefault(claim.target_channel or cast(str, self.settings.review_channel), []).append(claim)
        for channel, claims in by_channel.items():
            if report.slack_down:
                break  # still claimed: the next sync looks for them again
            self._repost_in(channel, claims, report)

    def _repost_in(self, channel: str, claims: list[SubmissionRow], report: SyncReport) -> None:
        try:
            found = self._find_posted(channel, min(c.claimed_at for c in claims))
        except Exception as e:
            outage = slack_outage(e, self.settings.slack_api_url)
            if outage is None:
                raise
            if isinstance(e, SlackApiError):  # Slack answered (5xx): new posts may still go through
                report.errors.append(f"could not read the review channel's history ({outage}); will look again next time")
            else:
                report.stop_posting(outage)
            return
        if found is None:
            report.errors.append("could not read the review channel's history; will try again")
            return
        missing = []
        for row in claims:
            where = found.get(row.submission_id)
            if where is not None:
                subs.mark_posted(self.db, row.submission_id, channel, where[0], batch_row=where[1])
                report.recovered += 1
            else:
                missing.append(row)
        meant_for_batch = [r for r in missing if r.batch_row is not None]
        for start in range(0, len(meant_for_batch), BATCH_SIZE):
            if report.slack_down:
                break
            self._post_batch(meant_for_batch[start:start + BATCH_SIZE], channel, report, recovered=True)
        for row in (r for r in missing if r.batch_row is None):
            if report.slack_down:
                break  # still claimed: the next sync looks for it again
            self._post_claimed(row, report, recovered=True)

    def _find_posted(self, channel: str, since_iso: str) -> dict[int, tuple[str, int | None]] | None:
        """submission_id -> (ts, row in a batch message or None) of our review messages in a channel since a time."""
        oldest = datetime.fromisoformat(since_iso) - timedelta(minutes=5)
        found: dict[int, tuple[str, int | None]] = {}

        def as_id(value: object) -> int | None:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None

        try:
            for page in self.slack.conversations_history(
                channel=channel,
                oldest=f"{oldest.timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
            ):
                for message in page.get("messages", []):
                    meta = message.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == ids.SUBMISSION_EVENT:
                        sid = as_id(payload.get("submission_id"))
                        if sid is not None:
                            found.setdefault(sid, (message["ts"], None))
                    elif meta.get("event_type") == ids.SUBMISSION_BATCH_EVENT and isinstance(payload.get("submission_ids"), list):
                        for row, value in enumerate(payload["submission_ids"]):
                            sid = as_id(value)
                            if sid is not None:
                                found.setdefault(sid, (message["ts"], row))
        except SlackApiError as e:
            if slack_outage(e, self.settings.slack_api_url):
                raise
            log.warning("conversations.history failed: %s", e.response.get("error"))
            return None
        return found

    def _settle_vanished(self, campaign: Campaign, pending: list[Submission], report: SyncReport) -> None:
        """Posted submissions no longer pending were decided on the website."""
        still = {p.id for p in pending}
        vanished = [r for r in subs.posted(self.db, campaign_id=campaign.id) if r.state == "posted" and r.submission_id not in still]
        if not vanished:
            return
        try:
            upstream = {s.id: s for s in self.rw.sync_view().list_submissions(campaign.id)}
        except RapidWorkersError as e:
            report.errors.append(f"campaign {campaign.id}: {_describe(e)}")
            return
        for row in vanished:
            found = upstream.get(row.submission_id)
            if found is not None and found.status in ("Approved", "Rejected"):
                subs.finish_decision(self.db, row.submission_id, found.status.lower(), decided_by=None, notes=found.notes, via="rapidworkers")
                report.settled += 1
                self.cards.refresh_quietly(row.submission_id)

