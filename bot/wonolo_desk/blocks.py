"""Wonolo in Slack: job request messages, job thread replies, /wonolo output, modals.

Pure builders: they take Wonolo resources (or a job snapshot dict) and
return (fallback text, blocks) or a view, with every untrusted string
(request names, venues, worker names, reasons) escaped or put in plain_text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.slack import ids
from bot.slack.mrkdwn import date_token, escape, mention, money, plain, truncate
from bot.wonolo.client import estimated_cost, open_slots

SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
ZONE_SHOWN_LIMIT = 60     # an unknown Wonolo time zone is shown as given, cut to this
PAGE = 20                 # /wonolo lists show this many, then "and N more"
JOBS_ON_MESSAGE = 10      # workers listed on a job request message

# Job states that hold a slot of their job request (slots filled).
SLOT_STATES = frozenset({"filled", "in_progress", "completed", "approved", "paused"})
# States that must stand out in the channel.
ALARM_STATES = frozenset({"no_show", "withdrawn", "cancelled", "unfilled"})
# Only a request still looking for workers can have them notified, re-ranked or assigned.
RECRUITING_STATES = frozenset({"unassigned", "posted"})
# A request can be cancelled until its shift starts.
REQUEST_CANCELLABLE_STATES = frozenset({"draft", "unassigned", "posted", "filled"})
# A request past recruiting (filled, worked, cancelled, expired unfilled) offers "Book again"
# (the booking modal, filled in from it: nothing is spent before its own Confirm).
BOOK_AGAIN_STATES = frozenset({"filled", "in_progress", "completed", "approved", "cancelled", "unfilled"})
# A job can be cancelled from Slack only before the work starts.
JOB_CANCELLABLE_STATES = frozenset({"pending", "filled", "paused"})

STATE_ICON = {
    "draft": ":memo:", "unassigned": ":inbox_tray:", "posted": ":mega:", "filled": ":white_check_mark:",
    "in_progress": ":arrow_forward:", "completed": ":checkered_flag:", "approved": ":moneybag:",
    "pending": ":hourglass_flowing_sand:", "rejected": ":x:", "paused": ":double_vertical_bar:",
}

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


def _parse(moment: datetime | str | None) -> datetime | str | None:
    """An aware datetime; a string that is no time comes back as it is."""
    if isinstance(moment, str):
        try:
            return _aware(datetime.fromisoformat(moment.replace("Z", "+00:00")))
        except ValueError:
            return moment
    return _aware(moment) if moment is not None else None


def _span(seconds: float) -> str:
    minutes = round(abs(seconds) / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 10 and rest:
        return f"{hours} h {rest} min"
    if hours < 48:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / 1440)} days"


def relative_text(moment: datetime, now: datetime | None = None) -> str:
    """'starts in 14 h' / 'started 3 h ago', from the clock now."""
    now = now or datetime.now(UTC)
    seconds = (_aware(moment) - now).total_seconds()
    if abs(seconds) < 60:
        return "starts now"
    return f"starts in {_span(seconds)}" if seconds > 0 else f"started {_span(seconds)} ago"


def venue_time(moment: datetime | str | None, tz_name: str | None, *, now: datetime | None = None,
               relative: bool = True) -> str:
    """A shift time written in the venue's zone, the zone named: 'Mon 30 Nov, 07:00 PST · starts in 14 h'.

    Without a zone from Wonolo it is UTC. A zone that is no real zone is
    never guessed: the time is then a Slack date token (each reader's own
    zone) followed by the zone as given (see when()).
    """
    moment = _parse(moment)
    if moment is None:
        return "unknown"
    if isinstance(moment, str):
        return escape(moment)
    zone = _zone(tz_name)
    if zone is None:
        text = when(moment, tz_name)
    else:
        local = moment.astimezone(zone)
        year = f" {local.year}" if local.year != (now or datetime.now(UTC)).astimezone(zone).year else ""
        text = f"{local:%a} {local.day} {local:%b}{year}, {local:%H:%M} {escape(local.tzname() or 'UTC')}"
    if relative:
        text += f" · {relative_text(moment, now)}"
    return text


def can_recruit(state: str | None) -> bool:
    """Resend notifications, Re-rank workers, Assign worker: only while Wonolo still looks for workers."""
    return state in RECRUITING_STATES


def can_cancel_request(state: str | None) -> bool:
    return state in REQUEST_CANCELLABLE_STATES


def can_book_again(state: str | None) -> bool:
    return state in BOOK_AGAIN_STATES


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


def where(jr) -> str:
    parts = [p for p in (jr.venue, jr.city) if p]
    return escape(", ".join(parts)) if parts else "unknown"


def mrkdwn_section(text: str, **kw: Any) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)), **kw)


def context_block(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, FIELD_LIMIT))])


def pack_sections(lines: Iterable[str]) -> list[Block]:
    """Pack lines into as few sections as fit Slack's 3000 characters."""
    blocks: list[Block] = []
    chunk = ""
    for line in lines:
        line = truncate(line, 1000)
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(mrkdwn_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(mrkdwn_section(chunk))
    return blocks


def as_payload(text: str, blocks: list[Block]) -> tuple[str, list[dict]]:
    return truncate(text, 3000), [b.to_dict() for b in blocks]


# --------------------------------------------------------------------------- job request message


def unfilled_slots(jr, jobs: Sequence | None) -> int | None:
    return open_slots(jr.slots, slots_filled(jr, jobs))


def cost_text(jr) -> str:
    """The estimated total: slots x hours x wage (Wonolo's fees are not public)."""
    cost = estimated_cost(jr.slots, jr.duration, jr.wage)
    if cost is None:
        return "unknown"
    return f"~{money(cost)} ({jr.slots} × {duration_text(jr.duration) or '0 min'} × {wage_text(jr.wage)})"


def request_fields(jr, jobs: Sequence | None, *, now: datetime | None = None, relative: bool = True) -> list[str]:
    start = venue_time(jr.start_time, jr.timezone, now=now, relative=relative)
    length = duration_text(jr.duration)
    slots = f"{slots_filled(jr, jobs)}/{jr.slots if jr.slots is not None else '?'} filled"
    unfilled = unfilled_slots(jr, jobs)
    if can_recruit(jr.state) and unfilled:
        slots += f" · *{unfilled} unfilled*"
    return [
        f"*Where*\n{truncate(where(jr), 500)}",
        f"*Starts*\n{start}" + (f" · {length}" if length else ""),
        f"*Slots*\n{slots}",
        f"*Wage*\n{wage_text(jr.wage)}",
        f"*Estimated cost*\n{cost_text(jr)}",
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
                    with_actions: bool = True, now: datetime | None = None,
                    relative: bool = True) -> tuple[str, list[dict]]:
    """The one channel message of a job request, rebuilt from its fetched state.

    `relative=False` leaves out "starts in …" (the bot compares renders
    without it, so the clock alone never re-sends a message)."""
    title = request_title(jr)
    jobs = list(jobs or [])
    fields = request_fields(jr, jobs, now=now, relative=relative)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=plain(title, 150), emoji=False)),
        mrkdwn_section(f"*State:* {state_badge(jr.state)}"),
        SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in fields]),
    ]
    if jobs:
        blocks.extend(pack_sections(_jobs_lines(jobs, JOBS_ON_MESSAGE)))
    facts = [f"Job request `{escape(jr.id)}`"]
    if jr.category:
        facts.append(truncate(escape(jr.category), 100))
    if jr.address:
        facts.append(truncate(escape(" ".join(p for p in (jr.address, jr.zip) if p)), 200))
    blocks.append(context_block(" · ".join(facts)))
    if cancelled_by and jr.state == "cancelled":
        blocks.append(mrkdwn_section(f":no_entry: Cancelled from Slack by {mention(cancelled_by)}"))
    buttons = request_buttons(jr, unfilled_slots(jr, jobs)) if with_actions else None
    if buttons is not None:
        blocks.append(buttons)
    text = (f"{state_label(jr.state)}: {escape(title)} at {where(jr)} · "
            f"{slots_filled(jr, jobs)}/{jr.slots if jr.slots is not None else '?'} filled")
    return as_payload(text, blocks)


def recruit_buttons(jr) -> list[ButtonElement]:
    value = str(jr.id)
    return [
        ButtonElement(text="Resend notifications", action_id=ids.WONOLO_RESEND, value=value),
        ButtonElement(text="Re-rank workers", action_id=ids.WONOLO_RERANK, value=value),
    ]


def cancel_request_button(jr, action_id: str = ids.WONOLO_CANCEL_REQUEST) -> ButtonElement:
    """Cancel request, behind a confirm dialog."""
    return ButtonElement(
        text="Cancel request",
        action_id=action_id,
        value=str(jr.id),
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
    )


def book_again_button(jr) -> ButtonElement:
    return ButtonElement(text="Book again", action_id=ids.WONOLO_BOOK_AGAIN, value=str(jr.id))


def request_buttons(jr, unfilled: int | None = None) -> ActionsBlock | None:
    """The actions the request's state allows (None: none)."""
    value = str(jr.id)
    elements: list[ButtonElement] = []
    if can_recruit(jr.state):
        elements.extend(recruit_buttons(jr))
        if unfilled is None or unfilled > 0:
            elements.append(ButtonElement(text="Assign worker", action_id=ids.WONOLO_ASSIGN, value=value))
    if can_cancel_request(jr.state):
        elements.append(cancel_request_button(jr))
    if can_book_again(jr.state):
        elements.append(book_again_button(jr))
    if not elements:
        return None
    return ActionsBlock(block_id=f"wonolo-request-{value}", elements=elements)


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
            facts.append(f"{label} {venue_time(snap[key], tz_name, relative=False)}")
    if snap.get("hours_worked") is not None:
        facts.append(f"{snap['hours_worked']:g} h worked")
    if snap.get("cancelled_reason") and state == "cancelled":
        facts.append(f"reason: {truncate(escape(snap['cancelled_reason']), 200)}")
    blocks: list[Block] = [mrkdwn_section(headline), context_block(" · ".join(facts))]
    if with_buttons:
        buttons = job_buttons(snap)
        if buttons is not None:
            blocks.append(buttons)
    text = f"{escape(worker)}: {state_label(state)} (job {escape(snap.get('id'))})"
    return as_payload(text, blocks)


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


# --------------------------------------------------------------------------- unfilled-shift alert


def unfilled_alert(jr, unfilled: int, *, now: datetime | None = None) -> tuple[str, list[dict]]:
    """The channel alert for a shift that starts soon with open slots; Resend/Re-rank while recruiting."""
    title = truncate(escape(request_title(jr)), 150)
    start = venue_time(jr.start_time, jr.timezone, now=now)
    if can_recruit(jr.state) and unfilled > 0:
        head = f":rotating_light: *Unfilled shift:* *{title}* at {truncate(where(jr), 300)}"
        body = (f"{unfilled} of {jr.slots} slots unfilled · starts {start}" if jr.slots is not None
                else f"{unfilled} slots unfilled · starts {start}")
    else:
        head = f":white_check_mark: *{title}*: {state_label(jr.state)}"
        body = f"{unfilled} slots unfilled · starts {start}" if unfilled else f"No open slots · starts {start}"
    blocks: list[Block] = [mrkdwn_section(f"{head}\n{body}"),
                           context_block(f"Job request `{escape(jr.id)}` · {cost_text(jr)}")]
    if can_recruit(jr.state) and unfilled > 0:
        blocks.append(ActionsBlock(block_id=f"wonolo-alert-{jr.id}", elements=recruit_buttons(jr)))
    text = f"Unfilled shift: {escape(request_title(jr))}, {unfilled} slots open, starts {start}"
    return as_payload(text, blocks)


# --------------------------------------------------------------------------- digest and App Home


@dataclass
class WonoloSummary:
    """What the digest and App Home say about Wonolo (gathered by WonoloDesk.summary)."""

    tomorrow: Sequence = ()        # JobRequest starting tomorrow (digest zone), by start time
    upcoming: Sequence = ()        # JobRequest starting from now on, by start time
    slots: int = 0                 # of tomorrow's shifts
    filled: int = 0
    alerts_raised: int = 0         # unfilled alerts in the last 24 h
    spend: Decimal = Decimal("0")  # estimated wages of shifts that started in the last 24 h
    spend_shifts: int = 0
    error: str | None = None


MAX_SHIFTS = 10


def _shift_line(jr, now: datetime | None) -> str:
    unfilled = unfilled_slots(jr, None)
    filled = f"{jr.slots_filled or 0}/{jr.slots if jr.slots is not None else '?'} filled"
    alarm = " :warning:" if can_recruit(jr.state) and unfilled else ""
    return (f"• *{truncate(escape(request_title(jr)), 100)}* · {truncate(where(jr), 100)} · "
            f"{venue_time(jr.start_time, jr.timezone, now=now)} · {filled}{alarm}")


def _shift_lines(jrs: Sequence, now: datetime | None) -> list[str]:
    lines = [_shift_line(jr, now) for jr in list(jrs)[:MAX_SHIFTS]]
    if len(jrs) > MAX_SHIFTS:
        lines.append(f"…and {len(jrs) - MAX_SHIFTS} more: `/wonolo requests [state]`")
    return lines


def digest_section(w: WonoloSummary, *, now: datetime | None = None) -> list[Block]:
    """The digest's Wonolo part: tomorrow's shifts, fill rate, alerts raised, spend."""
    if w.error:
        return [mrkdwn_section(f":warning: Wonolo unavailable: {truncate(escape(w.error), 500)}")]
    rate = f"{round(100 * w.filled / w.slots)}% ({w.filled}/{w.slots} slots)" if w.slots else "no slots"
    head = (f"*Wonolo* · tomorrow: {len(w.tomorrow)} shift{'s' if len(w.tomorrow) != 1 else ''}, fill rate {rate}"
            f" · unfilled alerts in the last 24 h: {w.alerts_raised}"
            f" · spend (est.) on {w.spend_shifts} shift{'s' if w.spend_shifts != 1 else ''} in the last 24 h: {money(w.spend)}")
    return pack_sections([head, *_shift_lines(w.tomorrow, now)])


def home_section(w: WonoloSummary, *, now: datetime | None = None) -> list[Block]:
    """The App Home's Wonolo part: upcoming shifts."""
    if w.error:
        return [mrkdwn_section(f":warning: Wonolo unavailable: {truncate(escape(w.error), 500)}")]
    if not w.upcoming:
        return [mrkdwn_section("*Upcoming Wonolo shifts:* none")]
    head = f"*Upcoming Wonolo shifts ({len(w.upcoming)})*"
    return pack_sections([head, *_shift_lines(w.upcoming, now)])
