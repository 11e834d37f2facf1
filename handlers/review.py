"""Review message buttons and the reject modal. Ack first, then work."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext

from bot.observability import metrics
from bot.review.blocks import reason_from_view, reject_modal
from bot.review.service import Started
from bot.slack import ids
from bot.slack.trigger import trigger_bound
from handlers.common import action_value, clicked_message
from handlers.errors import after_ack, guarded
from handlers.metrics import RECEIVED_AT


def decide_after_ack(context: BoltContext, body: dict, start: Callable[[], Started]) -> None:
    """The in-progress state first, on the instant pool (never behind slow RapidWorkers calls);
    then the RapidWorkers call on the work pool (Approve, Reject, Block worker)."""

    def begin() -> None:
        started = start()  # refusals raise: after_ack tells the clicker
        metrics.in_progress_shown(context.get(RECEIVED_AT))
        after_ack(context, body, lambda: context["review"].complete(started).message)

    after_ack(context, body, begin, instant=True)


@guarded
def approve(ack: Ack, body: dict, context: BoltContext):
    """Approve on a card or on one row of a batch message (that submission only: it must be on the
    clicked message); the message is rebuilt from the database, in progress first."""
    ack()
    review, submission, user, shown = context["review"], action_value(body), context["actor"], clicked_message(body)
    decide_after_ack(context, body, lambda: review.start_approval(submission, user, message=shown))


@guarded
def open_reject_modal(ack: Ack, body: dict, context: BoltContext):
    """Reject on a card or on one row of a batch message: the reason modal."""
    ack()
    with trigger_bound():  # who may reject (channel members: a look-up), then views.open, within the trigger's 3 s
        row = context["review"].check_actionable(action_value(body), context["actor"], "reject", message=clicked_message(body))
        context["services"].slack.views_open(trigger_id=body["trigger_id"], view=reject_modal(row))


@guarded
def submit_reject(ack: Ack, body: dict, context: BoltContext, view: dict):
    state = view.get("state")
    reason = reason_from_view(state.get("values") if isinstance(state, dict) else None)
    if not reason:
        ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: "Pick a common reason or type one: the worker is told why."})
        return
    ack()
    review, submission, user = context["review"], view.get("private_metadata", ""), context["actor"]
    decide_after_ack(context, body, lambda: review.start_rejection(submission, user, reason))


@guarded
def block_worker(ack: Ack, body: dict, context: BoltContext):
    """Block worker (after its confirm dialog), on a card or a batch row: the submission stays reviewable."""
    ack()
    review, submission, user, shown = context["review"], action_value(body), context["actor"], clicked_message(body)
    decide_after_ack(context, body, lambda: review.start_block(submission, user, message=shown))


def register(app: App) -> None:
    app.action(ids.REVIEW_APPROVE)(approve)
    app.action(ids.REVIEW_REJECT)(open_reject_modal)
    app.view_submission(ids.REVIEW_REJECT_MODAL)(submit_reject)
    app.action(ids.REVIEW_BLOCK)(block_worker)
    app.action(ids.REVIEW_BATCH_APPROVE)(approve)
    app.action(ids.REVIEW_BATCH_REJECT)(open_reject_modal)
    app.action(ids.REVIEW_BATCH_BLOCK)(block_worker)
