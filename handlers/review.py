"""Review message buttons and the reject modal. Ack first, then work."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext

from bot.errors import UserError
from bot.observability import metrics
from bot.review.decisions import Started
from bot.review.feature import ReviewService
from bot.review.render import REASON_MISSING, reason_from_view, reject_modal
from bot.review.walk import Skipped, read_walk_metadata
from bot.slack import ids
from bot.slack.image_fallback import with_image_fallback
from bot.slack.trigger import trigger_bound
from handlers.common import action_value, clicked_message
from handlers.errors import after_ack, guarded
from handlers.metrics import RECEIVED_AT


def review_of(context: BoltContext) -> ReviewService:
    """The review feature, as the composition root wired it."""
    return context["features"].review


def decide_after_ack(context: BoltContext, body: dict, start: Callable[[], Started]) -> None:
    """The in-progress state first, on the instant pool (never behind slow RapidWorkers calls);
    then the RapidWorkers call on the work pool (Approve, Reject, Block worker)."""

    def begin() -> None:
        started = start()  # refusals raise: after_ack tells the clicker
        metrics.in_progress_shown(context.get(RECEIVED_AT))
        after_ack(context, body, lambda: review_of(context).decisions.complete(started).message)

    after_ack(context, body, begin, instant=True)


@guarded
def approve(ack: Ack, body: dict, context: BoltContext) -> None:
    """Approve on a card or on one row of a batch message (that submission only: it must be on the
    clicked message); the message is rebuilt from the database, in progress first."""
    ack()
    decisions, submission, user, shown = review_of(context).decisions, action_value(body), context["actor"], clicked_message(body)
    decide_after_ack(context, body, lambda: decisions.start_approval(submission, user, message=shown))


@guarded
def open_reject_modal(ack: Ack, body: dict, context: BoltContext) -> None:
    """Reject on a card or on one row of a batch message: the reason modal."""
    ack()
    with trigger_bound():  # who may reject (channel members: a look-up), then views.open, within the trigger's 3 s
        row = review_of(context).decisions.check_actionable(action_value(body), context["actor"], "reject",
                                                            message=clicked_message(body))
        context["services"].slack.views_open(trigger_id=body["trigger_id"], view=reject_modal(row))


@guarded
def submit_reject(ack: Ack, body: dict, context: BoltContext, view: dict) -> None:
    state = view.get("state")
    reason = reason_from_view(state.get("values") if isinstance(state, dict) else None)
    if not reason:
        ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: REASON_MISSING})
        return
    ack()
    decisions, submission, user = review_of(context).decisions, view.get("private_metadata", ""), context["actor"]
    decide_after_ack(context, body, lambda: decisions.start_rejection(submission, user, reason))


@guarded
def block_worker(ack: Ack, body: dict, context: BoltContext) -> None:
    """Block worker (after its confirm dialog), on a card or a batch row: the submission stays reviewable."""
    ack()
    decisions, submission, user, shown = review_of(context).decisions, action_value(body), context["actor"], clicked_message(body)
    decide_after_ack(context, body, lambda: decisions.start_block(submission, user, message=shown))


# --- `/rw next` and App Home's button: the walk through the oldest waiting submissions ----------


def open_walk_after_ack(context: BoltContext, body: dict) -> None:
    """Open the walk at the oldest waiting submission (`/rw next` calls this after its ack)."""
    walk, user, slack = review_of(context).walk, context["actor"], context["services"].slack
    with trigger_bound():  # who may review (a look-up), then views.open, within the trigger's 3 s
        with_image_fallback(lambda with_images: walk.next_view(user, Skipped(), with_images=with_images),
                            lambda view: slack.views_open(trigger_id=body["trigger_id"], view=view))


@guarded
def open_walk(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    open_walk_after_ack(context, body)


class _WalkClick:
    """A button in the walk's modal: which submission, what was skipped, and how to redraw it."""

    def __init__(self, context: BoltContext, body: dict) -> None:
        found = body.get("view")
        view: dict = found if isinstance(found, dict) else {}
        self.context, self.body, self.view = context, body, view
        self.submission_id, self.skipped = read_walk_metadata(view.get("private_metadata"))
        self.user = context["actor"]
        self.walk = review_of(context).walk

    def show(self, *, notice: str | None = None, next_one: bool = False, skipped: Skipped | None = None) -> None:
        """views.update: this submission as stored now, or (next_one) the next one waiting."""
        skipped = skipped or self.skipped
        sid = None if next_one else self.submission_id

        def build(with_images: bool) -> dict:
            if sid is None:
                return self.walk.next_view(self.user, skipped, notice=notice, with_images=with_images)
            return self.walk.view_of(self.user, sid, skipped, notice=notice, with_images=with_images)

        slack = self.context["services"].slack
        with_image_fallback(build, lambda view: slack.views_update(view_id=self.view.get("id"), view=view))

    def decide(self, start: Callable[[], Started]) -> None:
        """As on a channel card: the guards and the in-progress state first (instant pool), then
        RapidWorkers (work pool); the modal follows each step, then moves to the next submission."""
        decisions = review_of(self.context).decisions

        def finish(started: Started) -> None:
            try:
                outcome = decisions.complete(started)
            except UserError as e:
                self.show(notice=f":warning: {e}")
                return
            done = "✅ Approved" if started.action == "approve" else "❌ Rejected"
            self.show(notice=f"{done} submission `{started.row.submission_id}`. {outcome.message or ''}".strip(), next_one=True)

        def begin() -> None:
            try:
                started = start()
            except UserError as e:
                self.show(notice=f":warning: {e}")
                return
            self.show()  # in progress, as stored
            after_ack(self.context, self.body, lambda: finish(started))

        after_ack(self.context, self.body, begin, instant=True)


@guarded
def walk_approve(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    click = _WalkClick(context, body)
    decisions, submission = review_of(context).decisions, str(click.submission_id or "")
    click.decide(lambda: decisions.start_approval(submission, click.user))


@guarded
def walk_reject(ack: Ack, body: dict, context: BoltContext, view: dict) -> None:
    """Reject (the walk modal's submit) with the reason typed or picked in place; without one,
    the field says so. The modal stays open: shown busy at once, then as the decision goes."""
    state = view.get("state")
    reason = reason_from_view(state.get("values") if isinstance(state, dict) else None)
    if not reason:
        ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: REASON_MISSING})
        return
    click = _WalkClick(context, body)
    if click.submission_id is None:
        ack(response_action="update", view=click.walk.next_view(click.user, click.skipped))
        return
    ack(response_action="update", view=click.walk.view_of(click.user, click.submission_id, click.skipped, busy=True,
                                                           notice=":hourglass_flowing_sand: Rejecting…"))
    decisions, submission = review_of(context).decisions, str(click.submission_id)
    click.decide(lambda: decisions.start_rejection(submission, click.user, reason))


@guarded
def walk_skip(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    click = _WalkClick(context, body)
    skipped = click.skipped.plus(click.submission_id) if click.submission_id is not None else click.skipped
    after_ack(context, body, lambda: click.show(next_one=True, skipped=skipped), instant=True)


def register(app: App) -> None:
    app.action(ids.NEXT_OPEN)(open_walk)
    app.action(ids.NEXT_APPROVE)(walk_approve)
    app.view_submission(ids.NEXT_MODAL)(walk_reject)
    app.action(ids.NEXT_SKIP)(walk_skip)
    app.action(ids.REVIEW_APPROVE)(approve)
    app.action(ids.REVIEW_REJECT)(open_reject_modal)
    app.view_submission(ids.REVIEW_REJECT_MODAL)(submit_reject)
    app.action(ids.REVIEW_BLOCK)(block_worker)
    app.action(ids.REVIEW_BATCH_APPROVE)(approve)
    app.action(ids.REVIEW_BATCH_REJECT)(open_reject_modal)
    app.action(ids.REVIEW_BATCH_BLOCK)(block_worker)
