"""Review message buttons and the reject modal. Ack first, then work."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot.review.blocks import reason_from_view, reject_modal
from bot.slack import ids
from handlers.common import action_value, clicked_message
from handlers.errors import after_ack, guarded


@guarded
def approve(ack: Ack, body: dict, context: BoltContext):
    ack()
    review, submission, user, shown = context["review"], action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: review.approve(submission, user, message=shown).message)


@guarded
def open_reject_modal(ack: Ack, body: dict, context: BoltContext):
    ack()
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
    after_ack(context, body, lambda: review.reject(submission, user, reason).message)


@guarded
def block_worker(ack: Ack, body: dict, context: BoltContext):
    ack()
    review, submission, user, shown = context["review"], action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: review.block_worker(submission, user, message=shown).message)


@guarded
def approve_batch_row(ack: Ack, body: dict, context: BoltContext):
    """Approve on one row of a batch message: that submission only (it must be a row of the
    clicked message), through the same decided-once guard; the whole message is rebuilt."""
    ack()
    review, submission, user, shown = context["review"], action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: review.approve(submission, user, message=shown).message)


@guarded
def open_batch_reject_modal(ack: Ack, body: dict, context: BoltContext):
    """Reject on one row of a batch message: the same reason modal as a single card."""
    ack()
    row = context["review"].check_actionable(action_value(body), context["actor"], "reject", message=clicked_message(body))
    context["services"].slack.views_open(trigger_id=body["trigger_id"], view=reject_modal(row))


@guarded
def block_batch_row_worker(ack: Ack, body: dict, context: BoltContext):
    """Block worker on one row of a batch message (after its confirm dialog): the row stays reviewable."""
    ack()
    review, submission, user, shown = context["review"], action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: review.block_worker(submission, user, message=shown).message)


def register(app: App) -> None:
    app.action(ids.REVIEW_APPROVE)(approve)
    app.action(ids.REVIEW_REJECT)(open_reject_modal)
    app.view_submission(ids.REVIEW_REJECT_MODAL)(submit_reject)
    app.action(ids.REVIEW_BLOCK)(block_worker)
    app.action(ids.REVIEW_BATCH_APPROVE)(approve_batch_row)
    app.action(ids.REVIEW_BATCH_REJECT)(open_batch_reject_modal)
    app.action(ids.REVIEW_BATCH_BLOCK)(block_batch_row_worker)
