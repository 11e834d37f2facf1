"""The Wonolo modals: Cancel job, Message worker, Assign worker, and what their submissions say.

Pure builders; untrusted names are escaped.
"""

from __future__ import annotations

import json

from slack_sdk.models.blocks import InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.views import View

from bot.slack import ids
from bot.slack.mrkdwn import escape, truncate
from bot.slack.view_state import state_choice, state_text
from bot.wonolo_desk.blocks import mrkdwn_section

# Wonolo's list of cancellation reasons is not public; decided_to_cancel is the
# one seen in its documentation. A reason Wonolo refuses comes back as a 422.
CANCEL_REASONS = (
    ("decided_to_cancel", "Decided to cancel"),
    ("no_longer_needed", "No longer needed"),
    ("schedule_changed", "Schedule changed"),
    ("filled_internally", "Filled internally"),
)



def cancel_job_modal(snap: dict, request_name: str | None) -> dict:
    """Asks for the cancellation reason Wonolo requires."""
    worker = snap.get("worker_name") or "no worker yet"
    about = f" on *{truncate(escape(request_name), 150)}*" if request_name else ""
    view = View(
        type="modal",
        callback_id=ids.WONOLO_CANCEL_JOB_MODAL,
        private_metadata=json.dumps({"job_id": str(snap.get("id"))}),
        title="Cancel job",
        submit="Cancel job",
        close="Keep it",
        blocks=[
            mrkdwn_section(f"Cancel job `{escape(snap.get('id'))}` of *{truncate(escape(worker), 150)}*{about}? "
                            "Wonolo tells the worker."),
            InputBlock(
                block_id=ids.WONOLO_CANCEL_REASON_BLOCK,
                label="Reason",
                optional=True,
                element=StaticSelectElement(
                    action_id=ids.WONOLO_CANCEL_REASON_INPUT,
                    placeholder="Pick a reason",
                    options=[Option(value=code, text=label) for code, label in CANCEL_REASONS],
                ),
            ),
            InputBlock(
                block_id=ids.WONOLO_CANCEL_OTHER_BLOCK,
                label="Other reason",
                optional=True,
                element=PlainTextInputElement(action_id=ids.WONOLO_CANCEL_OTHER_INPUT, max_length=200),
            ),
        ],
    )
    return view.to_dict()


def cancel_reason_from_view(values: dict) -> str:
    """The typed reason, else the chosen one's code; '' when neither is given."""
    typed = state_text(values, ids.WONOLO_CANCEL_OTHER_BLOCK, ids.WONOLO_CANCEL_OTHER_INPUT)
    code = state_choice(values, ids.WONOLO_CANCEL_REASON_BLOCK, ids.WONOLO_CANCEL_REASON_INPUT) or ""
    known = {c for c, _ in CANCEL_REASONS}
    return typed or (code if code in known else "")


def message_modal(snap: dict) -> dict:
    """Write an in-app message to the job's worker."""
    worker = snap.get("worker_name") or "the worker"
    view = View(
        type="modal",
        callback_id=ids.WONOLO_MESSAGE_MODAL,
        private_metadata=json.dumps({"job_id": str(snap.get("id"))}),
        title="Message worker",
        submit="Send",
        close="Cancel",
        blocks=[
            mrkdwn_section(f"To *{truncate(escape(worker), 150)}* about job `{escape(snap.get('id'))}`, "
                            "in the Wonolo app."),
            InputBlock(
                block_id=ids.WONOLO_MESSAGE_BLOCK,
                label="Message",
                element=PlainTextInputElement(action_id=ids.WONOLO_MESSAGE_INPUT, multiline=True, max_length=2000),
            ),
        ],
    )
    return view.to_dict()


def message_from_view(values: dict) -> str:
    return state_text(values, ids.WONOLO_MESSAGE_BLOCK, ids.WONOLO_MESSAGE_INPUT)


def job_id_from_metadata(private_metadata: str | None) -> str:
    try:
        data = json.loads(private_metadata or "")
    except ValueError:
        return ""
    return str(data.get("job_id") or "") if isinstance(data, dict) else ""


def assign_modal(jr_id: str, request_name: str | None, unfilled: int | None) -> dict:
    """Asks for the favourite worker to assign (id or e-mail) and optional notes."""
    about = f" *{truncate(escape(request_name), 150)}*" if request_name else ""
    left = f" ({unfilled} unfilled)" if unfilled else ""
    view = View(
        type="modal",
        callback_id=ids.WONOLO_ASSIGN_MODAL,
        private_metadata=json.dumps({"job_request_id": str(jr_id)}),
        title="Assign worker",
        submit="Assign",
        close="Cancel",
        blocks=[
            mrkdwn_section(f"Assign a favourite worker to job request `{escape(jr_id)}`{about}{left}. "
                            "Wonolo gives them the job directly."),
            InputBlock(
                block_id=ids.WONOLO_ASSIGN_WORKER_BLOCK,
                label="Worker id or e-mail",
                element=PlainTextInputElement(action_id=ids.WONOLO_ASSIGN_WORKER_INPUT, max_length=254,
                                              placeholder="12345 or maria@example.com"),
            ),
            InputBlock(
                block_id=ids.WONOLO_ASSIGN_NOTES_BLOCK,
                label="Notes for the worker",
                optional=True,
                element=PlainTextInputElement(action_id=ids.WONOLO_ASSIGN_NOTES_INPUT, multiline=True,
                                              max_length=500),
            ),
        ],
    )
    return view.to_dict()


def assign_from_view(values: dict) -> tuple[str, str]:
    """(worker id or e-mail, notes) as typed."""
    return (state_text(values, ids.WONOLO_ASSIGN_WORKER_BLOCK, ids.WONOLO_ASSIGN_WORKER_INPUT),
            state_text(values, ids.WONOLO_ASSIGN_NOTES_BLOCK, ids.WONOLO_ASSIGN_NOTES_INPUT))


def job_request_id_from_metadata(private_metadata: str | None) -> str:
    try:
        data = json.loads(private_metadata or "")
    except ValueError:
        return ""
    return str(data.get("job_request_id") or "") if isinstance(data, dict) else ""
