"""The review feature as the composition root (bot/app.py) builds it: cards, posting,
decisions, routes and proof checks, wired once. Its methods are the feature's public face
(listeners, `/rw`, the CLI, the scheduler); each rule lives in the module named for it:

* bot.review.posting    each submission posted once; one sync at a time; recovery
* bot.review.decisions  each submission decided once; in-progress states; block worker
* bot.review.cards      the card rebuilt from stored state, in place
* bot.review.render     pure Block Kit builders
* bot.review.walk       `/rw next`: the oldest waiting submissions, one at a time
"""

from __future__ import annotations

from decimal import Decimal

from bot.forensics.desk import FlagDesk
from bot.forensics.fetch import ImageFetcher, Resolver, SandboxOrigin
from bot.forensics.service import ProofForensics
from bot.outcomes import Outcome
from bot.rapidworkers.client import Submission
from bot.review.cards import Cards
from bot.review.decisions import Decisions
from bot.review.posting import Posting, ProgressCallback, SyncReport
from bot.review.proof_checks import ProofCheckQueue
from bot.review.routing import Routes
from bot.review.walk import Walk
from bot.services import Services
from storage.db import Database
from storage.rows import SubmissionRow


def proof_forensics(services: Services) -> ProofForensics | None:
    """The proof checks' engine, when GIGDESK_FORENSICS is on."""
    settings = services.settings
    if not settings.forensics:
        return None
    return ProofForensics(
        lambda: services.store.db,
        burst_count=settings.burst_count,
        burst_minutes=settings.burst_minutes,
        fetcher=ImageFetcher(sandbox=SandboxOrigin.of(settings.rapidworkers_base_url), resolver=Resolver(settings.proof_dns)),
        permalink=lambda channel, ts: services.slack.chat_getPermalink(channel=channel, message_ts=ts).get("permalink"),
    )


class ReviewService:
    """Sync and decisions for RapidWorkers submissions (the parts are attributes)."""

    def __init__(self, services: Services, *, post_interval: float = 1.0,
                 forensics: ProofForensics | None = None) -> None:
        self.settings = services.settings
        self.store = services.store
        self.forensics = forensics
        self.cards = Cards(services.settings, services.store, services.slack, forensics)
        # Proof checks run beside posting, after it (bot.review.proof_checks).
        self.checks = ProofCheckQueue(self.cards, forensics) if forensics else None
        # "Not a problem" and Trust worker on the cards' flags (bot/forensics/desk.py)
        self.flag_desk = FlagDesk(services, forensics, refresh=self.cards.refresh_message, refresh_worker=self.cards.refresh_worker)
        self.posting = Posting(services.settings, services.store, services.slack, services.rw, self.cards, self.checks,
                               post_interval=post_interval)
        self.decisions = Decisions(services, self.cards)
        self.routes = Routes(services)
        self.walk = Walk(services, self.cards)

    @property
    def db(self) -> Database:
        return self.store.db

    @property
    def post_interval(self) -> float:
        return self.posting.post_interval

    @post_interval.setter
    def post_interval(self, seconds: float) -> None:
        self.posting.post_interval = seconds

    def stop(self) -> None:
        """The bot is stopping: the sync posts nothing more, proof checks stop (both resume at
        the next start). Returns at once; checks.wait() waits for a running check."""
        self.posting.stopping.set()
        if self.checks is not None:
            self.checks.stop()

    # --- posting and cards ---------------------------------------------------------------

    def sync(self, progress: ProgressCallback | None = None) -> SyncReport:
        return self.posting.sync(progress)

    def render(self, row: SubmissionRow) -> tuple[str, list[dict]]:
        return self.cards.render(row)

    def refresh_message(self, submission_id: int) -> None:
        self.cards.refresh_message(submission_id)

    def flags(self, submission_id: int, data: dict) -> list[str]:
        return self.cards.flags(submission_id, data)

    def being_checked(self, submission_ids: list[int]) -> set[int]:
        """Submissions taken up whose proof check has not finished: approve-all leaves them out."""
        return self.forensics.unfinished_ids(submission_ids) if self.forensics else set()

    # --- decisions (listeners call self.decisions: start, then complete) ---------------

    def approve(self, submission_id: object, user_id: str) -> Outcome:
        return self.decisions.approve(submission_id, user_id)

    def reject(self, submission_id: object, user_id: str, reason: str) -> Outcome:
        return self.decisions.reject(submission_id, user_id, reason)

    def block(self, worker_id: str | None, user_id: str, *, worker_name: str | None = None) -> None:
        self.decisions.block(worker_id, user_id, worker_name=worker_name)

    def unblock(self, worker_id: str, user_id: str) -> None:
        self.decisions.unblock(worker_id, user_id)

    def approve_in_bulk(self, campaign_id: str, submission: Submission, pay: Decimal, title: str, user_id: str) -> Decimal | None:
        return self.decisions.approve_in_bulk(campaign_id, submission, pay, title, user_id)

    def settle_in_flight(self) -> int:
        return self.decisions.settle_in_flight()
