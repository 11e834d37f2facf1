"""Review loop: post each pending submission once; approve, reject, block.

The rules about money and state live here, once. Listeners only ack, call
these functions and show the returned message.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

from slack_sdk.errors import SlackApiError

from bot.connectivity import slack_outage
from bot.errors import UserError
from bot.forensics.fetch import ImageFetcher, Resolver, SandboxOrigin
from bot.forensics.service import ProofForensics
from bot.leases import Hold, Lease, abandoned, this_process
from bot.observability import metrics
from bot.permissions import require_allowed
from bot.rapidworkers.client import (
    BadRequest,
    Campaign,
    InvalidInput,
    NetworkError,
    NotFound,
    RapidWorkersError,
    ServerError,
    Submission,
)
from bot.review.blocks import BATCH_SIZE, batch_message, batch_metadata, batch_row_blocks, fraud_flags, metadata, review_message
from bot.review.proof_checks import ProofCheckQueue
from bot.review.routing import Routes
from bot.services import Services
from bot.slack import errors as slack_errors
from bot.slack import ids
from bot.slack.mrkdwn import escape, mention
from storage import records
from storage import routes as route_store
from storage import submissions as subs
from storage.rows import SubmissionRow

log = logging.getLogger("gigdesk.review")

NOT_POSTED_ERRORS = slack_errors.NOT_POSTED  # a chat.postMessage certainly did not post


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


@dataclass(frozen=True)
class Started:
    """A decision taken (the message shows it in progress) whose API call is still to come."""

    row: SubmissionRow
    user_id: str
    action: str  # "approve" | "reject" | "block"
    notes: str | None


@dataclass(frozen=True)
class Outcome:
    """What to tell the person who clicked (None: the message update says it)."""

    message: str | None = None


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


class ReviewService:
    """Sync and decisions for RapidWorkers submissions."""

    def __init__(self, services: Services, *, post_interval: float = 1.0):
        self.s = services
        self.settings = services.settings
        self.post_interval = post_interval
        self._sync_lock = threading.Lock()
        # One sync at a time across processes too (serve, poll, a second serve): its claims'
        # heartbeat goes with the lease's, so recovery never takes a live process's claim.
        self.sync_lease = Lease(services.store, "review-sync",
                                on_beat=lambda now: subs.beat_claims(self.db, this_process().id, now))
        self._hold: Hold | None = None
        self._last_post: dict[str, float] = {}  # per channel: Slack's limit is per channel
        self._message_locks = [threading.Lock() for _ in range(64)]  # striped by submission id or message
        self.routes = Routes(services)
        self._stopping = threading.Event()
        self.forensics = (
            ProofForensics(
                lambda: self.s.store.db,
                burst_count=self.settings.burst_count,
                burst_minutes=self.settings.burst_minutes,
                fetcher=ImageFetcher(sandbox=SandboxOrigin.of(self.settings.rapidworkers_base_url),
                                     resolver=Resolver(self.settings.proof_dns)),
                permalink=self._permalink,
            )
            if self.settings.forensics
            else None
        )
        # Proof checks run beside posting, after it (bot.review.proof_checks).
        self.checks = ProofCheckQueue(self, self.forensics) if self.forensics else None

    def stop(self) -> None:
        """The bot is stopping: the sync posts nothing more, proof checks stop (both resume at
        the next start). Returns at once; checks.wait() waits for a running check."""
        self._stopping.set()
        if self.checks is not None:
            self.checks.stop()

    @property
    def db(self):
        return self.s.store.db

    # --- rendering -----------------------------------------------------------------

    def render(self, row: SubmissionRow, *, with_images: bool = True, notice: str | None = None,
               progress: str | None = None) -> tuple[str, list[dict]]:
        return review_message(
            row,
            records.block_of(self.db, row.worker_id),
            new_account_days=self.settings.new_account_days,
            low_approval_rate=self.settings.low_approval_rate,
            with_images=with_images,
            forensics=self.forensics.flags_for(row.submission_id) if self.forensics else (),
            requirement=records.campaign_requirement(self.db, row.campaign_id),
            notice=notice,
            progress=progress,
        )

    def render_batch(self, rows: list[SubmissionRow], *, with_images: bool = True) -> tuple[str, list[dict]]:
        """A batch message (up to 10 rows) from stored rows."""
        return batch_message(rows, lambda row: batch_row_blocks(
            row,
            records.block_of(self.db, row.worker_id),
            new_account_days=self.settings.new_account_days,
            low_approval_rate=self.settings.low_approval_rate,
            with_images=with_images,
            forensics=self.forensics.flags_for(row.submission_id) if self.forensics else (),
        ))

    def flags(self, submission_id: int, data: dict) -> list[str]:
        """The flags that keep a submission out of bulk approval unless included explicitly: the
        account flags its review message shows, and any suspicious proof-forensics flag (an image
        that could not be checked is shown on the card but flags nothing)."""
        proof = [f for f in self.forensics.flags_for(submission_id) if f.suspicious] if self.forensics else []
        return fraud_flags(data, new_account_days=self.settings.new_account_days,
                           low_approval_rate=self.settings.low_approval_rate, forensics=proof)

    def _permalink(self, channel: str, ts: str) -> str | None:
        return self.s.slack.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")

    def being_checked(self, submission_ids: list[int]) -> set[int]:
        """Submissions taken up whose proof check has not finished: approve-all leaves them out."""
        return self.forensics.unfinished_ids(submission_ids) if self.forensics else set()

    def _check_proofs(self, rows: list[SubmissionRow]) -> None:
        """Queue the proof checks of just-posted submissions; their cards update when each is done."""
        if self.checks is not None:
            self.checks.queue([(row.submission_id, row.data) for row in rows])

    def _message_lock(self, key: int) -> threading.Lock:
        return self._message_locks[key % len(self._message_locks)]

    def refresh_message(self, submission_id: int, *, notice: str | None = None, progress: str | None = None) -> None:
        """Rebuild the message in place from stored state (chat.update).

        Reading the row and updating the message happen under one lock per
        message, so updates reach Slack in the order of the states they show:
        a slow in-progress update can never land after the final one.
        `notice`: why a decision failed, shown with the buttons; `progress`: an
        action under way that is not a stored state (Block worker), shown instead of them.
        A row of a batch message rebuilds the whole batch message (from its rows' states).
        """
        posted = subs.get(self.db, submission_id)
        if posted is None or not posted.ts:
            return
        if posted.batch_row is not None:
            if progress is not None:
                return  # a batch row shows stored states only (its own in-progress, outcome, blocked)
            with self._message_lock(zlib.crc32(f"{posted.channel}/{posted.ts}".encode())):
                self.refresh_batch(cast(str, posted.channel), posted.ts)
            return
        with self._message_lock(submission_id):
            row = subs.get(self.db, submission_id)
            if row is None or not row.ts:
                return
            text, blocks = self.render(row, notice=notice, progress=progress)
            try:
                self.s.slack.chat_update(channel=cast(str, row.channel), ts=row.ts, text=text, blocks=blocks)
            except SlackApiError as e:
                if e.response.get("error") != slack_errors.INVALID_BLOCKS:
                    raise
                text, blocks = self.render(row, with_images=False, notice=notice, progress=progress)
                self.s.slack.chat_update(channel=cast(str, row.channel), ts=row.ts, text=text, blocks=blocks)

    def refresh_batch(self, channel: str, ts: str) -> None:
        """Rebuild a batch message from stored state: decided rows collapsed, the others keep their buttons."""
        rows = subs.batch_rows(self.db, channel, ts)
        if not rows:
            return
        text, blocks = self.render_batch(rows)
        try:
            self.s.slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as e:
            if e.response.get("error") != slack_errors.INVALID_BLOCKS:
                raise
            text, blocks = self.render_batch(rows, with_images=False)
            self.s.slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    # --- sync ------------------------------------------------------------------------

    def sync(self, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """One review sync cycle; concurrent calls wait for the running one. While another process
        holds the sync lease, nothing is done (the report says who)."""
        with self._sync_lock, self.sync_lease.held() as hold:
            report = SyncReport()
            if not hold.taken:
                report.busy = hold.describe_holder()
                return report
            self._hold = hold  # the posting loop stops if it is lost
            self._repost_unrecorded(report)
            rw = self.s.rw.sync_view()  # the sync may use the priority reserve
            try:
                campaigns = rw.list_campaigns()
            except RapidWorkersError as e:
                report.errors.append(_describe(e))
                return report
            seen = records.campaign_counts(self.db)
            active = [c for c in campaigns if c.status == "Active"]
            report.campaigns_checked = len(active)
            todo: list[tuple[Campaign, list[Submission]]] = []
            for campaign in campaigns:
                if campaign.status != "Active":
                    if _changed(campaign, seen.get(campaign.id)):
                        records.save_campaign_counts(self.db, [_counts(campaign)])
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
                    records.save_campaign_counts(self.db, [_counts(campaign)])
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
            if report.slack_down or self._stopping.is_set():  # not claimed: the next sync posts them
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
            text, blocks = self.render_batch(rows)
            try:
                response = self.s.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=batch_metadata(rows),
                                                         unfurl_links=False, unfurl_media=False)
            except SlackApiError as e:
                if e.response.get("error") != slack_errors.INVALID_BLOCKS:
                    raise
                text, blocks = self.render_batch(rows, with_images=False)
                response = self.s.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=batch_metadata(rows),
                                                         unfurl_links=False, unfurl_media=False)
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
        except SlackApiError as e:
            error = e.response.get("error", "unknown_error")
            report.failed += 1
            outage = slack_outage(e, self.settings.slack_api_url)
            if outage:
                report.stop_posting(outage)
            else:
                report.errors.append(f"submission {row.submission_id}: Slack said {error}")
            if error in NOT_POSTED_ERRORS:
                subs.release_claim(self.db, row.submission_id)
            # Otherwise (5xx, timeout) it may be in the channel: the next sync
            # looks for it by its metadata before posting again.
            return False
        except Exception as e:  # network trouble: maybe posted, keep the claim
            report.failed += 1
            outage = slack_outage(e, self.settings.slack_api_url)
            if outage:
                report.stop_posting(outage)
            else:
                report.errors.append(f"submission {row.submission_id}: could not post it ({type(e).__name__})")
            return False
        subs.mark_posted(self.db, row.submission_id, response["channel"], response["ts"])
        metrics.posted()
        self._check_proofs([row])
        if recovered:
            report.recovered += 1
        else:
            report.posted += 1
        return True

    def _post(self, row: SubmissionRow, channel: str):
        text, blocks = self.render(row)
        try:
            return self.s.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata(row), unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            # Slack fetches image URLs itself; one it cannot load fails the whole
            # message, so post again with the images as links only.
            if e.response.get("error") != slack_errors.INVALID_BLOCKS:
                raise
            text, blocks = self.render(row, with_images=False)
            return self.s.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata(row), unfurl_links=False, unfurl_media=False)

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
            for page in self.s.slack.conversations_history(
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
            upstream = {s.id: s for s in self.s.rw.sync_view().list_submissions(campaign.id)}
        except RapidWorkersError as e:
            report.errors.append(f"campaign {campaign.id}: {_describe(e)}")
            return
        for row in vanished:
            found = upstream.get(row.submission_id)
            if found is not None and found.status in ("Approved", "Rejected"):
                subs.finish_decision(self.db, row.submission_id, found.status.lower(), decided_by=None, notes=found.notes, via="rapidworkers")
                report.settled += 1
                self._refresh_quietly(row.submission_id)

    def _refresh_quietly(self, submission_id: int, *, notice: str | None = None, progress: str | None = None) -> None:
        try:
            self.refresh_message(submission_id, notice=notice, progress=progress)
        except SlackApiError as e:
            log.warning("could not update message of submission %s: %s", submission_id, e.response.get("error"))
        except Exception as e:
            outage = slack_outage(e, self.settings.slack_api_url)
            if outage is None:
                raise
            log.warning("could not update message of submission %s: %s", submission_id, outage)

    # --- decisions -------------------------------------------------------------------

    def _row_for_action(self, submission_id: object, message: tuple[str, str] | None = None) -> SubmissionRow:
        """The stored row a button (or modal) names.

        Only the exact value the bot wrote is accepted (ASCII digits; not
        "1_001", " 1001" or "１００１", which int() would take), and with
        `message` (channel, ts of the clicked message) the submission must be
        the one that message shows: a button acts on its own message only.
        """
        if isinstance(submission_id, int) and not isinstance(submission_id, bool):
            text = str(submission_id)  # from code, not from a payload
        else:
            text = submission_id if isinstance(submission_id, str) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise UserError("That button does not belong to a submission I know.")
        row = subs.get(self.db, int(text))
        if row is None:
            raise UserError("That button does not belong to a submission I know.")
        if message is not None and (row.channel, row.ts) != tuple(message):
            raise UserError("That button does not belong to a submission I know.")
        return row

    @staticmethod
    def _already(row: SubmissionRow) -> str | None:
        state = row.state
        if state in ("approved", "rejected"):
            who = f"by {mention(row.decided_by)}" if row.decided_by else "on RapidWorkers"
            return f"Submission {row.submission_id} was already {state} {who}."
        if state in ("approving", "rejecting"):
            return f"Submission {row.submission_id} is already being {state[:-3]}ed by {mention(row.acting_user)}."
        if state == "claimed":
            return f"Submission {row.submission_id} is still being posted; try again in a moment."
        return None

    def check_actionable(self, submission_id: object, user_id: str, action: str, *, message: tuple[str, str] | None = None) -> SubmissionRow:
        """Refuse (UserError) unless the user may act and the submission waits for a decision.

        `message`: (channel, ts) of the message whose button was clicked, if any.
        """
        row = self._row_for_action(submission_id, message)
        require_allowed(self.s, user_id, action, str(row.submission_id), "review submissions")
        already = self._already(row)
        if already:
            records.audit(self.db, user_id, action, str(row.submission_id), "refused", already)
            raise UserError(already)
        return row

    def approve(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        return self.complete(self.start_approval(submission_id, user_id, message=message))

    def reject(self, submission_id: object, user_id: str, reason: str) -> Outcome:
        return self.complete(self.start_rejection(submission_id, user_id, reason))

    def start_approval(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Started:
        """Take the submission for approval and show it in progress; `complete` calls the API."""
        return self._start(submission_id, user_id, "approve", None, message)

    def start_rejection(self, submission_id: object, user_id: str, reason: str) -> Started:
        """Take the submission for rejection and show it in progress; `complete` calls the API."""
        reason = (reason or "").strip()
        if not reason:
            raise UserError("A rejection needs a reason.")
        return self._start(submission_id, user_id, "reject", reason[:1000])

    def _start(self, submission_id: object, user_id: str, action: str, notes: str | None, message: tuple[str, str] | None = None) -> Started:
        """The decided-once guard, then the in-progress message (no buttons) before any API call."""
        row = self.check_actionable(submission_id, user_id, action, message=message)
        sid = row.submission_id
        if not subs.begin_decision(self.db, sid, "approving" if action == "approve" else "rejecting", user_id):
            refusal = self._already(cast(SubmissionRow, subs.get(self.db, sid))) or f"Submission {sid} changed meanwhile; look again."
            records.audit(self.db, user_id, action, str(sid), "refused", refusal)
            raise UserError(refusal)
        self._show_in_progress(sid)  # from the stored 'approving'/'rejecting' state
        return Started(row, user_id, action, notes)

    def _show_in_progress(self, submission_id: int, *, progress: str | None = None) -> None:
        """The in-progress message, before any API call; never stops the action if Slack fails."""
        try:
            self._refresh_quietly(submission_id, progress=progress)
        except Exception as e:
            log.warning("could not show submission %s in progress: %s", submission_id, type(e).__name__)

    def complete(self, started: Started) -> Outcome:
        """Call RapidWorkers for a started action; store and show what happened."""
        if started.action == "block":
            return self._complete_block(started)
        row, user_id, action, notes = started.row, started.user_id, started.action, started.notes
        sid = row.submission_id
        try:
            if action == "approve":
                decision = self.s.rw.approve(row.campaign_id, sid)
            else:
                decision = self.s.rw.reject(row.campaign_id, sid, cast(str, notes))  # a rejection always has notes
        except BadRequest as e:
            if "already processed" in (e.error or str(e)).lower():
                return self._settle_from_upstream(row, user_id, action)
            return self._failed(row, user_id, action, f"RapidWorkers refused: {e}")
        except NetworkError as e:
            if e.may_have_reached_server:
                return self._failed(row, user_id, action, f"RapidWorkers did not answer in time ({e}). It may or may not have gone through; click again and I will find out.")
            return self._failed(row, user_id, action, f"Could not reach RapidWorkers ({e}).")
        except ServerError as e:
            return self._failed(row, user_id, action, f"RapidWorkers had an error ({e}). Nothing was recorded; click again to retry.")
        except (RapidWorkersError, InvalidInput) as e:
            return self._failed(row, user_id, action, f"RapidWorkers said: {e}")
        except Exception:
            subs.revert_decision(self.db, sid)
            records.audit(self.db, user_id, action, str(sid), "error", "unexpected error")
            self._refresh_quietly(sid, notice="Something went wrong on my side; nothing was recorded. Click again to retry.")
            raise
        outcome = "approved" if action == "approve" else "rejected"
        amount = decision.amount_paid
        if amount is None and action == "approve":
            amount = Decimal(str(row.data.get("pay") or "0")) or None
        subs.finish_decision(self.db, sid, outcome, decided_by=user_id, amount_paid=str(amount) if amount is not None else None, notes=notes)
        records.audit(self.db, user_id, action, str(sid), outcome, notes, str(amount) if amount is not None else None)
        metrics.decided(action, outcome, paid=amount)
        self._refresh_quietly(sid)
        return Outcome()

    def _failed(self, row: SubmissionRow, user_id: str, action: str, message: str) -> Outcome:
        """The API call failed: the buttons come back, with the reason on the message."""
        subs.revert_decision(self.db, row.submission_id)
        records.audit(self.db, user_id, action, str(row.submission_id), "failed", message)
        metrics.decided(action, "failed")
        verb = "Approve" if action == "approve" else "Reject"
        self._refresh_quietly(row.submission_id, notice=f"{verb} by {mention(user_id)} failed: {escape(message)}")
        raise UserError(message + " The submission is still open.")

    def _settle_from_upstream(self, row: SubmissionRow, user_id: str, action: str) -> Outcome:
        """400 'already processed': someone decided on the website; show the real status."""
        sid = row.submission_id
        status = self.upstream_status(row)
        if status in ("Approved", "Rejected"):
            subs.finish_decision(self.db, sid, status.lower(), decided_by=None, notes=None, via="rapidworkers")
            records.audit(self.db, user_id, action, str(sid), "already-decided", f"{status} on RapidWorkers")
            self._refresh_quietly(sid)
            return Outcome(f"Submission {sid} was already {status.lower()} on RapidWorkers; the message now shows it.")
        subs.revert_decision(self.db, sid)
        records.audit(self.db, user_id, action, str(sid), "failed", "already processed, status unknown")
        self._refresh_quietly(sid, notice="RapidWorkers says it was already processed, but its status could not be read.")
        raise UserError(f"RapidWorkers says submission {sid} was already processed, but I could not find its status.")

    def upstream_status(self, row: SubmissionRow) -> str | None:
        """The submission's current status on RapidWorkers, or None if not found."""
        try:
            for found in self.s.rw.list_submissions(row.campaign_id):
                if found.id == row.submission_id:
                    return found.status
        except (NotFound, RapidWorkersError) as e:
            log.warning("could not read submission %s upstream: %s", row.submission_id, e)
        return None

    def settle_in_flight(self) -> int:
        """At start: decisions under way when the bot died are settled from upstream."""
        settled = 0
        for row in subs.in_flight(self.db):
            status = self.upstream_status(row)
            if status in ("Approved", "Rejected"):
                subs.finish_decision(self.db, row.submission_id, status.lower(), decided_by=row.acting_user, notes=None, via="recovered")
                records.audit(self.db, row.acting_user, "recover", str(row.submission_id), status.lower(), "settled at start")
            elif status == "Pending":
                if row.ts:
                    subs.revert_decision(self.db, row.submission_id)
                else:  # taken unposted by an approve-all: forget it, the sync posts it
                    subs.undo_bulk_approval(self.db, row.submission_id)
                records.audit(self.db, row.acting_user, "recover", str(row.submission_id), "reopened", "not decided upstream")
            else:
                continue
            settled += 1
            self._refresh_quietly(row.submission_id)
        return settled

    def block_worker(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Outcome:
        """Block the submission's worker; the submission stays reviewable."""
        return self.complete(self.start_block(submission_id, user_id, message=message))

    def start_block(self, submission_id: object, user_id: str, *, message: tuple[str, str] | None = None) -> Started:
        """Check a Block worker click and show it in progress (no buttons); `complete` blocks."""
        row = self._row_for_action(submission_id, message)
        sid = row.submission_id
        require_allowed(self.s, user_id, "block", str(sid), "block workers")
        worker_id = row.worker_id
        name = row.data.get("worker_name")
        already = self._already(row)
        if already:  # a decided message has no Block button any more
            records.audit(self.db, user_id, "block", str(sid), "refused", already)
            raise UserError(f"{already} To block its worker, use `/rw block {escape(worker_id or '?')}`.")
        if records.block_of(self.db, worker_id):
            records.audit(self.db, user_id, "block", str(sid), "refused", "already blocked")
            raise UserError(f"{escape(name or worker_id)} is already blocked.")
        # Not a stored state (blocking decides nothing): shown once; the rebuild after the block replaces it.
        self._show_in_progress(sid, progress=f":hourglass_flowing_sand: *Blocking worker…* — {mention(user_id)}")
        return Started(row, user_id, "block", None)

    def _complete_block(self, started: Started) -> Outcome:
        row, user_id = started.row, started.user_id
        sid, name = row.submission_id, row.data.get("worker_name")
        try:
            self.block(row.worker_id, user_id, worker_name=name, target=str(sid))
        except UserError as e:
            self._refresh_quietly(sid, notice=f"Block worker by {mention(user_id)} failed: {escape(str(e))}")
            raise
        return Outcome(f"Blocked {escape(name or row.worker_id)}. The submission is still open for review.")

    def block(self, worker_id: str | None, user_id: str, *, worker_name: str | None = None, target: str | None = None) -> None:
        """Block a worker upstream, record who did it, update their open messages."""
        if not worker_id:
            raise UserError("This submission has no worker id, so the worker cannot be blocked.")
        try:
            self.s.rw.block_worker(worker_id)
        except BadRequest as e:
            if "already blocked" not in (e.error or str(e)).lower():
                records.audit(self.db, user_id, "block", target or worker_id, "failed", str(e))
                raise UserError(f"RapidWorkers refused to block the worker: {e}") from None
        except RapidWorkersError as e:
            records.audit(self.db, user_id, "block", target or worker_id, "failed", str(e))
            raise UserError(f"Could not block the worker: {e}") from None
        records.record_block(self.db, str(worker_id), worker_name, user_id)
        records.audit(self.db, user_id, "block", target or str(worker_id), "blocked", f"worker {worker_id}")
        metrics.decided("block", "blocked")
        self.refresh_worker(str(worker_id))

    def unblock(self, worker_id: str, user_id: str) -> None:
        try:
            self.s.rw.unblock_worker(worker_id)
        except BadRequest as e:
            if "not blocked" not in (e.error or str(e)).lower():
                records.audit(self.db, user_id, "unblock", worker_id, "failed", str(e))
                raise UserError(f"RapidWorkers refused to unblock the worker: {e}") from None
        except RapidWorkersError as e:
            records.audit(self.db, user_id, "unblock", worker_id, "failed", str(e))
            raise UserError(f"Could not unblock the worker: {e}") from None
        records.remove_block(self.db, str(worker_id))
        records.audit(self.db, user_id, "unblock", str(worker_id), "unblocked")
        self.refresh_worker(str(worker_id))

    def refresh_worker(self, worker_id: str) -> None:
        rebuilt: set[object] = set()
        for other in subs.posted(self.db, worker_id=worker_id):
            # a batch message is rebuilt whole, once, however many of its rows are this worker's
            key = (other.channel, other.ts) if other.batch_row is not None else other.submission_id
            if key not in rebuilt:
                rebuilt.add(key)
                self._refresh_quietly(other.submission_id)

    def approve_in_bulk(self, campaign_id: str, submission: Submission, pay: Decimal, title: str, user_id: str) -> Decimal | None:
        """One submission of an approve-all, through the same decided-once guard as a click.

        Returns what was paid, or None when someone else decided (or is deciding) it
        first. A failed call leaves it as it was and raises; it is never retried here.
        """
        sid = submission.id
        data = submission.to_dict()
        data["pay"] = str(pay)
        data["campaign_title"] = data.get("campaign_title") or title
        if not subs.begin_bulk_approval(self.db, sid, campaign_id, submission.worker_id, data, user_id):
            return None
        try:
            decision = self.s.rw.approve(campaign_id, sid)
        except BadRequest as e:
            subs.undo_bulk_approval(self.db, sid)
            if "already processed" in (e.error or str(e)).lower():
                return None  # decided on RapidWorkers meanwhile; the next sync shows how
            records.audit(self.db, user_id, "approve", str(sid), "failed", f"approve-all: {e}"[:300])
            raise
        except Exception as e:
            subs.undo_bulk_approval(self.db, sid)
            records.audit(self.db, user_id, "approve", str(sid), "failed", f"approve-all: {e}"[:300])
            raise
        amount = decision.amount_paid if decision.amount_paid is not None else pay
        subs.finish_decision(self.db, sid, "approved", decided_by=user_id, amount_paid=str(amount), via="bulk")
        records.audit(self.db, user_id, "approve", str(sid), "approved", "approve-all", str(amount))
        metrics.decided("approve", "approved")  # spent: counted once for the whole approve-all (bot.commands)
        self._refresh_quietly(sid)
        return amount
