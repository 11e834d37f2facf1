"""Wonolo in Slack: job request messages, job thread replies, /wonolo output, modals.

Pure builders: they take Wonolo resources (or a job snapshot dict) and
return (fallback text, blocks) or a view, with every untrusted string
(request names, venues, worker names, reasons) escaped or put in plain_text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.slack import ids
from bot.slack.mrkdwn import date_token, escape, mention, money, plain, truncate
from bot.slack.view_state import state_choice, state_text

SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
ZONE_SHOWN_LIMIT = 60     # an unknown Wonolo time zone is shown as given, cut to this
PAGE = 20                 # /wonolo lists show this many, then "and N more"
JOBS_ON_MESSAGE = 10      # workers listed on a job request message

# Job states that hold a slot of their job request (slots filled).
SLOT_STATES = frozenset({"filled", "in_progress", "completed", "approved", "paused"})
# States that must stand out in the channel.
ALARM_STATES = frozenset({"no_show", "withdrawn", "cancelled", "unfilled"})
# A job request in these states takes no more actions.
REQUEST_FINAL_STATES = frozenset({"cancelled", "completed", "approved", "unfilled"})
# A job can be cancelled from Slack only before the work starts.
JOB_CANCELLABLE_STATES = frozenset({"pending", "filled", "paused"})

STATE_ICON = {
    "draft": ":memo:", "unassigned": ":inbox_tray:", "posted": ":mega:", "filled": ":white_check_mark:",
    "in_progress": ":arrow_forward:", "completed": ":checkered_flag:", "approved": ":moneybag:",
    "pending": ":hourglass_flowing_sand:", "rejected": ":x:", "paused": ":double_vertical_bar:",
}

# Wonolo's list of cancellation reasons is not public; decided_to_cancel is the
# one seen in its documentation. A reason Wonolo refuses comes back as a 422.
CANCEL_REASONS = (
    ("decided_to_cancel", "Decided to cancel"),
    ("no_longer_needed", "No longer needed"),
    ("schedule_changed", "Schedule changed"),
    ("filled_internally", "Filled internally"),
)


# --------------------------------------------------------------------------- small helpers


def state_label(state: str | None) -> str:
    """'in_progress' -> 'In progress'; unknown -> 'Unknown'."""
    text = str(state or "unknown").replace("_", " ").strip()
    return escape(text[:1].upper() + text[1:]) if text else "Unknown"


def state_badge(state: str | None) -> str:
    """Icon and label; no_show/withdrawn/cancelled/unfilled stand out in bold capitals."""
    if state in ALARM_STATES:
        return f":rotating_light: *{escape(state.replace('_', ' ').upper())}*"
    return f"{STATE_ICON.get(state or '', ':grey_question:')} {state_label(state)}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str | None) -> tzinfo | None:
    """The IANA zone `name`; UTC when there is none; None when `name` is no zone.

    Only names in the zone database are opened: ZoneInfo() reads a file
    named by its argument, and raises OSError on a long or odd one.
    """
    if not name:
        return UTC
    if not isinstance(name, str) or name not in _known_zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def when(moment: datetime | str | None, tz_name: str | None = None) -> str:
    """A Slack date token: each reader sees it in their own time zone.

    The fallback (for clients that cannot render tokens) is written in the
    job request's own time zone, else UTC. A zone Wonolo sent that is no real
    zone is shown after the time as given (escaped, cut), never guessed.
    """
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return escape(moment)
    if moment is None:
        return "unknown"
    moment = _aware(moment)
    zone = _zone(tz_name)
    local = moment.astimezone(zone or UTC)
    fallback = local.strftime("%a %b %d %Y, %H:%M ") + (local.tzname() or "UTC")
    token = date_token(moment.timestamp(), fallback)
    if zone is None:
        given = " ".join(str(tz_name).split())  # no line breaks in a one-line fact
        return f"{token} (time zone: {truncate(escape(given), ZONE_SHOWN_LIMIT)})"
    return token


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment is not None else None


def duration_text(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def wage_text(wage: Decimal | None) -> str:
    return f"{money(wage)}/hr" if wage is not None else "unknown"


def slots_filled(jr, jobs: Sequence | None) -> int:
    """Jobs holding a slot; from the jobs list when we have it, else the request's own count."""
    if jobs:
        return sum(1 for j in jobs if j.state in SLOT_STATES)
    return jr.slots_filled or 0


def request_title(jr) -> str:
    return jr.request_name or f"Job request {jr.id}"


def _where(jr) -> str:
    parts = [p for p in (jr.venue, jr.city) if p]
    return escape(", ".join(parts)) if parts else "unknown"


def _mrkdwn_section(text: str, **kw: Any) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)), **kw)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, FIELD_LIMIT))])


def _sections(lines: Iterable[str]) -> list[Block]:
    """Pack lines into as few sections as fit Slack's 3000 characters."""
    blocks: list[Block] = []
    chunk = ""
    for line in lines:
        line = truncate(line, 1000)
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(_mrkdwn_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(_mrkdwn_section(chunk))
    return blocks


def _out(text: str, blocks: list[Block]) -> tuple[str, list[dict]]:
    return truncate(text, 3000), [b.to_dict() for b in blocks]


# --------------------------------------------------------------------------- job request message


def request_fields(jr, jobs: Sequence | None) -> list[str]:
    start = when(jr.start_time, jr.timezone)
    length = duration_text(jr.duration)
    slots = f"{slots_filled(jr, jobs)}/{jr.slots if jr.slots is not None else '?'} filled"
    return [
        f"*Where*\n{truncate(_where(jr), 500)}",
        f"*Starts*\n{start}" + (f" · {length}" if length else ""),
        f"*Slots*\n{slots}",
        f"*Wage*\n{wage_text(jr.wage)}",
    ]


def _jobs_lines(jobs: Sequence, limit: int) -> list[str]:
    lines = []
    for job in list(jobs)[:limit]:
        worker = job.worker.full_name if job.worker else "no worker yet"
        lines.append(f"• {truncate(escape(worker), 100)} — {state_badge(job.state)} (job `{escape(job.id)}`)")
    if len(jobs) > limit:
        lines.append(f"…and {len(jobs) - limit} more")
    return lines


def request_message(jr, jobs: Sequence | None = None, *, cancelled_by: str | None = None,
                    with_actions: bool = True) -> tuple[str, list[dict]]:
    """The one channel message of a job request, rebuilt from its fetched state."""
    title = request_title(jr)
    jobs = list(jobs or [])
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=plain(title, 150), emoji=False)),
        _mrkdwn_section(f"*State:* {state_badge(jr.state)}"),
        SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in request_fields(jr, jobs)]),
    ]
    if jobs:
        blocks.extend(_sections(_jobs_lines(jobs, JOBS_ON_MESSAGE)))
    facts = [f"Job request `{escape(jr.id)}`"]
    if jr.category:
        facts.append(truncate(escape(jr.category), 100))
    if jr.address:
        facts.append(truncate(escape(" ".join(p for p in (jr.address, jr.zip) if p)), 200))
    blocks.append(_context(" · ".join(facts)))
    if cancelled_by and jr.state == "cancelled":
        blocks.append(_mrkdwn_section(f":no_entry: Cancelled from Slack by {mention(cancelled_by)}"))
    if with_actions and jr.state not in REQUEST_FINAL_STATES:
        blocks.append(request_buttons(jr))
    text = (f"{state_label(jr.state)}: {escape(title)} at {_where(jr)} · "
            f"{slots_filled(jr, jobs)}/{jr.slots if jr.slots is not None else '?'} filled")
    return _out(text, blocks)


def request_buttons(jr) -> ActionsBlock:
    value = str(jr.id)
    return ActionsBlock(
        block_id=f"wonolo-request-{value}",
        elements=[
            ButtonElement(text="Resend notifications", action_id=ids.WONOLO_RESEND, value=value),
            ButtonElement(text="Re-rank workers", action_id=ids.WONOLO_RERANK, value=value),
            ButtonElement(
                text="Cancel request",
                action_id=ids.WONOLO_CANCEL_REQUEST,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel this job request?",
                    # plain_text: the request name is untrusted and must not mention anyone.
                    text=PlainTextObject(
                        text=truncate(f"{plain(request_title(jr), 150)} will be cancelled on Wonolo, "
                                      "with every job on it. This cannot be undone from Slack.", 300),
                        emoji=False,
                    ),
                    confirm="Cancel request",
                    deny="Keep it",
                    style="danger",
                ),
            ),
        ],
    )


def request_metadata(job_request_id: str) -> dict:
    """Slack message metadata that lets the bot find its message again after a crash."""
    return {"event_type": ids.WONOLO_REQUEST_EVENT, "event_payload": {"job_request_id": str(job_request_id)}}


# --------------------------------------------------------------------------- job thread replies


def job_snapshot(job) -> dict:
    """What a job reply shows, as JSON-able data (stored to rebuild the reply later)."""
    return {
        "id": str(job.id),
        "state": job.state,
        "job_request_id": str(job.job_request_id) if job.job_request_id is not None else None,
        "worker_id": str(job.worker.id) if job.worker and job.worker.id is not None else None,
        "worker_name": job.worker.full_name if job.worker else None,
        "employer_id": str(job.employer.id) if job.employer and job.employer.id is not None else None,
        "confirmed_at": _iso(job.confirmed_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
        "hours_worked": job.hours_worked,
        "cancelled_reason": job.raw.get("cancelled_reason") if isinstance(job.raw, dict) else None,
    }


def job_reply(snap: dict, *, tz_name: str | None = None, with_buttons: bool = True) -> tuple[str, list[dict]]:
    """A job's state change, posted in its job request's thread."""
    state = snap.get("state")
    worker = snap.get("worker_name") or "No worker yet"
    name = truncate(escape(worker), 200)
    headline = f"{state_badge(state)} · *{name}*"
    facts = [f"Job `{escape(snap.get('id'))}`"]
    for key, label in (("confirmed_at", "confirmed"), ("started_at", "started"), ("completed_at", "completed")):
        if snap.get(key):
            facts.append(f"{label} {when(snap[key], tz_name)}")
    if snap.get("hours_worked") is not None:
        facts.append(f"{snap['hours_worked']:g} h worked")
    if snap.get("cancelled_reason") and state == "cancelled":
        facts.append(f"reason: {truncate(escape(snap['cancelled_reason']), 200)}")
    blocks: list[Block] = [_mrkdwn_section(headline), _context(" · ".join(facts))]
    if with_buttons:
        buttons = job_buttons(snap)
        if buttons is not None:
            blocks.append(buttons)
    text = f"{escape(worker)}: {state_label(state)} (job {escape(snap.get('id'))})"
    return _out(text, blocks)


def job_buttons(snap: dict) -> ActionsBlock | None:
    value = str(snap.get("id"))
    elements = []
    if snap.get("state") in JOB_CANCELLABLE_STATES:
        elements.append(ButtonElement(text="Cancel job", action_id=ids.WONOLO_CANCEL_JOB, value=value, style="danger"))
    if snap.get("worker_id"):
        elements.append(ButtonElement(text="Message worker", action_id=ids.WONOLO_MESSAGE_WORKER, value=value))
    if not elements:
        return None
    return ActionsBlock(block_id=f"wonolo-job-{value}", elements=elements)


# --------------------------------------------------------------------------- modals


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
            _mrkdwn_section(f"Cancel job `{escape(snap.get('id'))}` of *{truncate(escape(worker), 150)}*{about}? "
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
            _mrkdwn_section(f"To *{truncate(escape(worker), 150)}* about job `{escape(snap.get('id'))}`, "
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


# --------------------------------------------------------------------------- /wonolo output

USAGE = (
    "`/wonolo help` · this help\n"
    "`/wonolo requests [state]` · job requests, optionally in one state\n"
    "`/wonolo request <id>` · one job request and its jobs\n"
    "`/wonolo jobs [state]` · jobs, optionally in one state\n"
    "`/wonolo job <id>` · one job\n"
    "`/wonolo worker <id|email>` · a Wonoloer\n"
    "`/wonolo badges` · the badges job requests can require"
)


def help_message(problem: str | None = None) -> tuple[str, list[dict]]:
    blocks: list[Block] = []
    if problem:
        blocks.append(_mrkdwn_section(f":warning: {problem}"))
    blocks.append(_mrkdwn_section("*Wonolo commands*\n" + USAGE))
    return _out((f"{problem} " if problem else "") + "Wonolo commands: help, requests, request, jobs, job, worker, badges", blocks)


def notice(text: str) -> tuple[str, list[dict]]:
    return _out(text, [_mrkdwn_section(text)])


def _more_line(more: int, exact: bool, hint: str) -> str:
    if more <= 0:
        return ""
    if exact:
        return f"…and {more} more. {hint}"
    return f"…and at least {more} more. {hint}"


def request_list(jrs: Sequence, *, state: str | None, more: int, exact: bool) -> tuple[str, list[dict]]:
    what = f"{state_label(state).lower()} job requests" if state else "job requests"
    if not jrs:
        return notice(f"No {what}.")
    lines = []
    for jr in jrs:
        lines.append(
            f"`{escape(jr.id)}` *{truncate(escape(request_title(jr)), 120)}* · {state_badge(jr.state)} · "
            f"{truncate(_where(jr), 120)} · {when(jr.start_time, jr.timezone)} · "
            f"{jr.slots_filled or 0}/{jr.slots if jr.slots is not None else '?'} filled"
        )
    blocks: list[Block] = [_mrkdwn_section(f"*{what[:1].upper() + what[1:]}* ({len(jrs) + more}{'' if exact else '+'})")]
    blocks.extend(_sections(lines))
    tail = _more_line(more, exact, "Narrow it with a state: `/wonolo requests <state>`." if not state else "Open one with `/wonolo request <id>`.")
    if tail:
        blocks.append(_context(tail))
    return _out(f"{len(jrs) + more} {what}", blocks)


def job_list(jobs: Sequence, *, state: str | None, more: int, exact: bool) -> tuple[str, list[dict]]:
    what = f"{state_label(state).lower()} jobs" if state else "jobs"
    if not jobs:
        return notice(f"No {what}.")
    lines = []
    for job in jobs:
        worker = job.worker.full_name if job.worker else "no worker yet"
        lines.append(f"`{escape(job.id)}` {truncate(escape(worker), 120)} · {state_badge(job.state)} · "
                     f"job request `{escape(job.job_request_id)}`")
    blocks: list[Block] = [_mrkdwn_section(f"*{what[:1].upper() + what[1:]}* ({len(jobs) + more}{'' if exact else '+'})")]
    blocks.extend(_sections(lines))
    tail = _more_line(more, exact, "Narrow it with a state: `/wonolo jobs <state>`." if not state else "Open one with `/wonolo job <id>`.")
    if tail:
        blocks.append(_context(tail))
    return _out(f"{len(jobs) + more} {what}", blocks)


def request_detail(jr, jobs: Sequence) -> tuple[str, list[dict]]:
    text, blocks = request_message(jr, jobs[:JOBS_ON_MESSAGE], with_actions=False)
    if len(jobs) > JOBS_ON_MESSAGE:
        blocks.append(_context(f"…and {len(jobs) - JOBS_ON_MESSAGE} more jobs: `/wonolo jobs` lists them.").to_dict())
    if jr.description:
        blocks.insert(3, _mrkdwn_section(truncate(escape(jr.description), 1500)).to_dict())
    return text, blocks


def job_detail(job, request_name: str | None, tz_name: str | None) -> tuple[str, list[dict]]:
    snap = job_snapshot(job)
    text, blocks = job_reply(snap, tz_name=tz_name, with_buttons=False)
    about = f"Job request `{escape(job.job_request_id)}`"
    if request_name:
        about += f" · {truncate(escape(request_name), 200)}"
    if job.requestor_notes:
        about += f"\nNotes: {truncate(escape(job.requestor_notes), 500)}"
    blocks.insert(1, _mrkdwn_section(about).to_dict())
    return text, blocks


def worker_detail(user, *, show_contact: bool) -> tuple[str, list[dict]]:
    name = user.full_name
    fields = [
        f"*Type*\n{escape(user.type or 'unknown')}",
        f"*Rating*\n{user.rating:g}" if user.rating is not None else "*Rating*\nnone yet",
        f"*State*\n{escape(user.address_state or 'unknown')}",
        f"*Suspended*\n{'yes :no_entry:' if user.suspended else 'no'}",
    ]
    if show_contact:
        fields.append(f"*Email*\n{truncate(escape(user.email or 'unknown'), 300)}")
        fields.append(f"*Phone*\n{truncate(escape(user.phone or 'unknown'), 100)}")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=plain(name, 150), emoji=False)),
        SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in fields]),
    ]
    badges = ", ".join(escape(b) for b in user.badges) or "none"
    blocks.append(_context(truncate(f"User `{escape(user.id)}` · badges: {badges}", FIELD_LIMIT)))
    if not show_contact:
        blocks.append(_context("Contact details are shown to allowed users only."))
    return _out(f"{escape(name)} ({escape(user.type or 'user')} {escape(user.id)})", blocks)


def badge_list(badges: Sequence, *, more: int) -> tuple[str, list[dict]]:
    if not badges:
        return notice("No badges.")
    lines = []
    for badge in badges:
        kind = "soft" if badge.is_soft else "required"
        desc = f" — {truncate(escape(badge.description), 300)}" if badge.description else ""
        lines.append(f"`{escape(badge.id)}` *{truncate(escape(badge.name or 'unnamed'), 150)}* ({kind}){desc}")
    blocks: list[Block] = [_mrkdwn_section(f"*Badges* ({len(badges) + more})")]
    blocks.extend(_sections(lines))
    if more:
        blocks.append(_context(f"…and {more} more."))
    return _out(f"{len(badges) + more} badges", blocks)
