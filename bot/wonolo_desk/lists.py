"""What /wonolo answers: help, the paged lists (with their row buttons), one request, job,
worker, the badges.

Pure builders; untrusted names are escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.slack import ids
from bot.slack.mrkdwn import escape, plain, truncate
from bot.wonolo_desk.blocks import (
    FIELD_LIMIT,
    JOBS_ON_MESSAGE,
    as_payload,
    book_again_button,
    can_book_again,
    can_cancel_request,
    cancel_request_button,
    context_block,
    job_reply,
    job_snapshot,
    mrkdwn_section,
    pack_sections,
    request_message,
    request_title,
    state_badge,
    state_label,
    venue_time,
    where,
)

HELP_LINES = (
    ("help", "/wonolo help", "this help"),
    ("book", "/wonolo book", "book shifts: a form, then the estimated cost and Confirm (spenders)"),
    ("requests", "/wonolo requests [state]", "job requests, optionally in one state, a page at a time"),
    ("request", "/wonolo request <id>", "one job request and its jobs"),
    ("jobs", "/wonolo jobs [state]", "jobs, optionally in one state, a page at a time"),
    ("job", "/wonolo job <id>", "one job"),
    ("worker", "/wonolo worker <id|email>", "a Wonoloer"),
    ("invite", "/wonolo invite <email>", "invite a worker to Wonolo by e-mail (allowed users)"),
    ("badges", "/wonolo badges", "the badges job requests can require"),
)
COMMANDS = tuple(name for name, _, _ in HELP_LINES)


def usage_line(name: str) -> str:
    """`/wonolo request &lt;id&gt;`: a usage line safe for mrkdwn."""
    usage = next((u for n, u, _ in HELP_LINES if n == name), "/wonolo help")
    return f"`{escape(usage)}`"


USAGE = "\n".join(f"{usage_line(name)} · {what}" for name, _, what in HELP_LINES)


def help_message(problem: str | None = None) -> tuple[str, list[dict]]:
    blocks: list[Block] = []
    if problem:
        blocks.append(mrkdwn_section(f":warning: {problem}"))
    blocks.append(mrkdwn_section("*Wonolo commands*\n" + USAGE))
    blocks.append(context_block("Shift times are in the venue's time zone."))
    return as_payload((f"{problem} " if problem else "") + "Wonolo commands: " + ", ".join(COMMANDS), blocks)


def notice(text: str) -> tuple[str, list[dict]]:
    return as_payload(text, [mrkdwn_section(text)])


def page_value(kind: str, state: str | None, page: int) -> str:
    """What a Next/Previous button carries: which list, which state, which page."""
    return json.dumps({"list": kind, "state": state, "page": page}, separators=(",", ":"))


def page_from_value(value: str) -> tuple[str, str | None, int] | None:
    """(kind, state, page) from a pager button; None when it is not one of ours."""
    try:
        data = json.loads(value) if len(value) <= 200 else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind, state, page = data.get("list"), data.get("state"), data.get("page")
    if kind not in ("requests", "jobs") or not (state is None or isinstance(state, str)):
        return None
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        return None
    return kind, state, page


def _pager(kind: str, state: str | None, page: int, has_next: bool) -> ActionsBlock | None:
    elements = []
    if page > 1:
        elements.append(ButtonElement(text="Previous", action_id=ids.WONOLO_PAGE_PREVIOUS,
                                      value=page_value(kind, state, page - 1)))
    if has_next:
        elements.append(ButtonElement(text="Next", action_id=ids.WONOLO_PAGE_NEXT,
                                      value=page_value(kind, state, page + 1)))
    return ActionsBlock(block_id=f"wonolo-pager-{kind}", elements=elements) if elements else None


def _list_page(kind: str, what: str, lines: list[str], *, state: str | None, page: int,
               has_next: bool, hint: str, rows: list[Block] | None = None) -> tuple[str, list[dict]]:
    """A page of `lines` packed in sections, or of `rows` (blocks) when given."""
    title = what[:1].upper() + what[1:]
    if not lines:
        blocks: list[Block] = [mrkdwn_section(f"No {what}." if page == 1 else f"No more {what}.")]
    else:
        blocks = [mrkdwn_section(f"*{title}* · page {page}")]
        blocks.extend(rows if rows is not None else pack_sections(lines))
        blocks.append(context_block(hint))
    pager = _pager(kind, state, page, has_next and bool(lines))
    if pager is not None:
        blocks.append(pager)
    return as_payload(f"{title}, page {page}: {len(lines)} shown", blocks)


def request_list(jrs: Sequence, *, state: str | None, page: int = 1, has_next: bool = False,
                 now: datetime | None = None) -> tuple[str, list[dict]]:
    """Each request a line with its buttons: Details, Book again (past recruiting), Cancel (while it can be)."""
    what = f"{state_label(state).lower()} job requests" if state else "job requests"
    lines, rows = [], []
    for jr in jrs:
        line = (f"`{escape(jr.id)}` *{truncate(escape(request_title(jr)), 120)}* · {state_badge(jr.state)} · "
                f"{truncate(where(jr), 120)} · {venue_time(jr.start_time, jr.timezone, now=now)} · "
                f"{jr.slots_filled or 0}/{jr.slots if jr.slots is not None else '?'} filled")
        lines.append(line)
        rows += [mrkdwn_section(line), _row_buttons(jr)]
    return _list_page("requests", what, lines, state=state, page=page, has_next=has_next,
                      hint=f"Open one with {usage_line('request')}.", rows=rows)


def _row_buttons(jr) -> ActionsBlock:
    elements = [ButtonElement(text="Details", action_id=ids.WONOLO_LIST_DETAILS, value=str(jr.id))]
    if can_book_again(jr.state):
        elements.append(book_again_button(jr))
    if can_cancel_request(jr.state):
        elements.append(cancel_request_button(jr, ids.WONOLO_LIST_CANCEL))
    return ActionsBlock(block_id=f"wonolo-row-{str(jr.id)[:200]}", elements=elements)


def job_list(jobs: Sequence, *, state: str | None, page: int = 1, has_next: bool = False) -> tuple[str, list[dict]]:
    what = f"{state_label(state).lower()} jobs" if state else "jobs"
    lines = []
    for job in jobs:
        worker = job.worker.full_name if job.worker else "no worker yet"
        lines.append(f"`{escape(job.id)}` {truncate(escape(worker), 120)} · {state_badge(job.state)} · "
                     f"job request `{escape(job.job_request_id)}`")
    return _list_page("jobs", what, lines, state=state, page=page, has_next=has_next,
                      hint=f"Open one with {usage_line('job')}.")


def request_detail(jr, jobs: Sequence) -> tuple[str, list[dict]]:
    text, blocks = request_message(jr, jobs[:JOBS_ON_MESSAGE], with_actions=False)
    if len(jobs) > JOBS_ON_MESSAGE:
        blocks.append(context_block(f"…and {len(jobs) - JOBS_ON_MESSAGE} more jobs: `/wonolo jobs` lists them.").to_dict())
    if jr.description:
        blocks.insert(3, mrkdwn_section(truncate(escape(jr.description), 1500)).to_dict())
    if can_book_again(jr.state):
        blocks.append(ActionsBlock(block_id=f"wonolo-detail-{str(jr.id)[:200]}",
                                   elements=[book_again_button(jr)]).to_dict())
    return text, blocks


def job_detail(job, request_name: str | None, tz_name: str | None) -> tuple[str, list[dict]]:
    snap = job_snapshot(job)
    text, blocks = job_reply(snap, tz_name=tz_name, with_buttons=False)
    about = f"Job request `{escape(job.job_request_id)}`"
    if request_name:
        about += f" · {truncate(escape(request_name), 200)}"
    if job.requestor_notes:
        about += f"\nNotes: {truncate(escape(job.requestor_notes), 500)}"
    blocks.insert(1, mrkdwn_section(about).to_dict())
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
    blocks.append(context_block(truncate(f"User `{escape(user.id)}` · badges: {badges}", FIELD_LIMIT)))
    if not show_contact:
        blocks.append(context_block("Contact details are shown to allowed users only."))
    return as_payload(f"{escape(name)} ({escape(user.type or 'user')} {escape(user.id)})", blocks)


def badge_list(badges: Sequence, *, more: int) -> tuple[str, list[dict]]:
    if not badges:
        return notice("No badges.")
    lines = []
    for badge in badges:
        kind = "soft" if badge.is_soft else "required"
        desc = f" — {truncate(escape(badge.description), 300)}" if badge.description else ""
        lines.append(f"`{escape(badge.id)}` *{truncate(escape(badge.name or 'unnamed'), 150)}* ({kind}){desc}")
    blocks: list[Block] = [mrkdwn_section(f"*Badges* ({len(badges) + more})")]
    blocks.extend(pack_sections(lines))
    if more:
        blocks.append(context_block(f"…and {more} more."))
    return as_payload(f"{len(badges) + more} badges", blocks)
