"""The review message of one submission, rebuilt from stored state every time."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlparse

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    ImageBlock,
    ImageElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.forensics.blocks import CHECKING_MARK, flag_actions, flag_lines
from bot.slack import ids
from bot.slack.mrkdwn import date_token, escape, iso_epoch, link, mention, money, plain, truncate, when
from bot.slack.view_state import state_choice, state_text
from storage.rows import SubmissionRow

CONTEXT_ELEMENTS = 10  # Block Kit's limit per context block
SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
OUTCOME_ICON = {"approved": "✅", "rejected": "❌"}
IN_PROGRESS = {"approving": "Approving", "rejecting": "Rejecting"}


def _is_web_url(url: str | None) -> bool:
    if not url or len(url) > 3000:
        return False
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def fraud_flags(data: dict, *, new_account_days: int, low_approval_rate: float, forensics=()) -> list[str]:
    """Short warnings that help catch fraud (forensics: bot.forensics Flags of the proof checks)."""
    flags = []
    age = data.get("worker_account_age_days")
    rate = data.get("worker_approval_rate")
    if age is not None and age < new_account_days:
        flags.append(f":warning: new account ({age} d)")
    if rate is not None and rate < low_approval_rate:
        flags.append(f":warning: low approval rate ({rate:g}%)")
    return flags + flag_lines(forensics)


def _image_urls(data: dict) -> list[tuple[str, str]]:
    """(large, small) URL of each usable proof image: the full-size URL when the API gives one."""
    urls = []
    for image in data.get("images") or []:
        full, thumb = image.get("url"), image.get("thumbnail_url")
        large = full if _is_web_url(full) else thumb if _is_web_url(thumb) else None
        if large:
            urls.append((large, thumb if _is_web_url(thumb) else large))
    return urls


def _images(data: dict, with_images: bool) -> list[Block]:
    """One large image, then the others as one compact row (small thumbnails and numbered links).

    Never more than one image block, whatever the number of images; without
    images (Slack could not load one) every image is a numbered link.
    """
    urls = _image_urls(data)
    if not urls:
        return []
    blocks: list[Block] = []
    first = 0
    if with_images:
        blocks.append(ImageBlock(image_url=urls[0][0], alt_text=f"Proof image 1 of {len(urls)}"))
        first = 1
    rest = list(enumerate(urls, 1))[first:]
    if rest:
        links = " ".join(link(large, str(n)) for n, (large, _) in rest)
        label = "More proof images" if first else "Proof images"
        elements: list = []
        if with_images:  # context images render small: a row of thumbnails, not a stack
            elements = [ImageElement(image_url=small, alt_text=f"Proof image {n} of {len(urls)}")
                        for n, (_, small) in rest[: CONTEXT_ELEMENTS - 1]]
        elements.append(MarkdownTextObject(text=truncate(f"{label}: {links}", FIELD_LIMIT)))
        blocks.append(ContextBlock(elements=elements))
    return blocks


def submitted_ago(iso: str | None, now: datetime | None = None) -> str:
    """'submitted 3 h ago' as a Slack date token: Slack keeps it relative as time passes;
    the fallback (clients that cannot render it) is computed at `now`."""
    epoch = iso_epoch(iso)
    if epoch is None:
        return "submitted at an unknown time"
    seconds = max(0, int(((now or datetime.now(UTC)).timestamp()) - epoch))
    if seconds < 60:
        ago = "just now"
    elif seconds < 3600:
        ago = f"{seconds // 60} min ago"
    elif seconds < 2 * 86400:
        ago = f"{seconds // 3600} h ago"
    else:
        ago = f"{seconds // 86400} d ago"
    return date_token(epoch, f"submitted {ago}", "submitted {ago}")


def _in_progress(row: SubmissionRow) -> str | None:
    state = row.state
    if state not in IN_PROGRESS:
        return None
    return f":hourglass_flowing_sand: *{IN_PROGRESS[state]}…* — {mention(row.acting_user)}"


def _blocked_line(block: dict | None) -> str | None:
    if not block:
        return None
    return f":no_entry: Worker blocked by {mention(block.get('blocked_by'))} · {when(block.get('blocked_at'))}"


def _outcome_line(row: SubmissionRow) -> str:
    state = row.state
    who = f"by {mention(row.decided_by)}" if row.decided_by else "on RapidWorkers (outside Slack)"
    line = f"{OUTCOME_ICON[state]} *{state.capitalize()}* {who} · {when(row.decided_at)}"
    if state == "approved" and row.amount_paid:
        line += f" · paid {money(row.amount_paid)}"
    if state == "rejected" and row.notes:
        line += f" · reason: {truncate(escape(' '.join(str(row.notes).split())), 300)}"
    return line


def _status_line(row: SubmissionRow, block: dict | None) -> list[str]:
    """A batch row's state: the outcome, or the action under way, and whether the worker is blocked."""
    state = row.state
    first = _outcome_line(row) if state in OUTCOME_ICON else _in_progress(row)
    return [line for line in (first, _blocked_line(block)) if line]


def _ids_line(row: SubmissionRow) -> ContextBlock:
    """Ids for support, small and out of the way."""
    data = row.data
    text = (f"submission `{row.submission_id}` · campaign `{truncate(escape(row.campaign_id), 60)}`"
            f" · worker `{truncate(escape(data.get('worker_id') or '?'), 60)}`")
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, FIELD_LIMIT))])


def collapsed_message(row: SubmissionRow, block: dict | None = None) -> list[Block]:
    """A decided submission in two lines: outcome, who, when, amount or reason; then what it
    was, with a link to the first proof image. No image blocks, no buttons."""
    data = row.data
    title = truncate(escape(data.get("campaign_title") or "Untitled campaign"), 150)
    worker = truncate(escape(data.get("worker_name") or "unknown worker"), 80)
    second = [f"*{title}* · {money(data.get('pay'))} · {worker}"]
    urls = _image_urls(data)
    if urls:
        second.append(link(urls[0][0], f"proof image 1 of {len(urls)}"))
    blocked = _blocked_line(block)
    if blocked:
        second.append(blocked)
    second.append(f"submission `{row.submission_id}`")
    return [
        SectionBlock(text=MarkdownTextObject(text=truncate(_outcome_line(row), SECTION_TEXT_LIMIT))),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(second), FIELD_LIMIT))]),
    ]


def review_message(
    row: SubmissionRow,
    block: dict | None = None,
    *,
    new_account_days: int = 7,
    low_approval_rate: float = 60.0,
    with_images: bool = True,
    forensics=(),
    requirement: str | None = None,
    notice: str | None = None,
    progress: str | None = None,
    now: datetime | None = None,
) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for a stored submission row.

    `row` is a storage.submissions row: its `data` is Submission.to_dict().
    `requirement`: the campaign's proof_required_description (cached with the
    campaign) when the row's own copy is missing. `notice`: why the last
    decision failed, shown above the buttons; `progress`: an action under way
    that is no stored state (blocking), shown instead of the buttons (both
    mrkdwn, escaped by the caller). Buttons appear only while the
    submission waits for a decision; a decided one collapses to two lines.
    """
    data = row.data
    sid = row.submission_id
    title = data.get("campaign_title") or "Untitled campaign"
    worker = data.get("worker_name") or "unknown worker"
    state = row.state
    if state in OUTCOME_ICON:
        verb = state.capitalize()
        text = f"{verb}: submission {sid} by {escape(worker)} for {escape(title)}"
        return truncate(text, 3000), [b.to_dict() for b in collapsed_message(row, block)]

    required = data.get("proof_required_description") or requirement
    top = f"*{truncate(escape(title), 150)}* · *{money(data.get('pay'))}*"
    top += "\n*Proof required:* " + (truncate(escape(" ".join(str(required).split())), 1000) if required else "_not given by RapidWorkers_")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate(top, SECTION_TEXT_LIMIT)))]

    flags = fraud_flags(data, new_account_days=new_account_days, low_approval_rate=low_approval_rate, forensics=forensics)
    if flags:  # a section, not a grey context line: flags are what must not be missed
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(flags), SECTION_TEXT_LIMIT))))
    blocks.extend(flag_actions(sid, forensics))  # "Not a problem", Trust worker (bot/forensics/blocks.py)

    rate = data.get("worker_approval_rate")
    fields = [
        f"*Worker*\n{truncate(escape(worker), 200)}",
        f"*Country*\n{truncate(escape(data.get('country') or 'unknown'), 200)}",
        f"*Account age*\n{data['worker_account_age_days']} days" if data.get("worker_account_age_days") is not None else "*Account age*\nunknown",
        f"*Approval rate*\n{rate:g}%" if rate is not None else "*Approval rate*\nunknown",
        f"*Completed*\n{data['worker_total_completed']}" if data.get("worker_total_completed") is not None else "*Completed*\nunknown",
        f"*Submitted*\n{submitted_ago(data.get('submitted_at'), now)}",
    ]
    blocks.append(SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in fields]))

    proof = escape(data.get("proof_text") or "").strip() or "_No proof text._"
    blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("*Proof*\n" + proof, SECTION_TEXT_LIMIT))))
    blocks.extend(_images(data, with_images))
    blocks.append(_ids_line(row))

    reviewable = state in ("claimed", "posted") and not progress
    status = [line for line in (_in_progress(row), progress if state in ("claimed", "posted") else None, _blocked_line(block)) if line]
    if notice and reviewable:
        status.append(f":warning: {truncate(notice, 600)}")
    if status:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(status), SECTION_TEXT_LIMIT))))
    if reviewable:
        blocks.append(review_buttons(sid, worker, has_block=block is not None))

    verb = IN_PROGRESS.get(state or "", "To review")
    text = f"{verb}: submission {sid} by {escape(worker)} for {escape(title)}"
    return truncate(text, 3000), [b.to_dict() for b in blocks]


def review_buttons(submission_id: int, worker: str, *, has_block: bool) -> ActionsBlock:
    value = str(submission_id)
    elements = [
        ButtonElement(text="Approve", action_id=ids.REVIEW_APPROVE, value=value, style="primary"),
        ButtonElement(text="Reject", action_id=ids.REVIEW_REJECT, value=value, style="danger"),
    ]
    if not has_block:
        elements.append(
            ButtonElement(
                text="Block worker",
                action_id=ids.REVIEW_BLOCK,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Block this worker?",
                    # A plain str would become mrkdwn here; plain_text parses no mentions.
                    text=PlainTextObject(
                        text=truncate(
                            f"{plain(worker, 100)} will no longer see any of your campaigns. "
                            "This submission stays open for review.",
                            300,
                        ),
                        emoji=False,
                    ),
                    confirm="Block worker",
                    deny="Cancel",
                    style="danger",
                ),
            )
        )
    return ActionsBlock(block_id=f"review-{submission_id}", elements=elements)


def metadata(row: SubmissionRow) -> dict:
    """Slack message metadata that lets a later sync find this message."""
    return {
        "event_type": ids.SUBMISSION_EVENT,
        "event_payload": {"submission_id": row.submission_id, "campaign_id": row.campaign_id},
    }


PRESET_REASONS = (
    "Proof does not show the task was done",
    "Screenshot is unreadable or cropped",
    "Proof was reused from another submission",
    "Wrong link or account",
)


def reject_modal(row: SubmissionRow) -> dict:
    """The modal that asks for a rejection reason (the API requires one)."""
    from slack_sdk.models.blocks import InputBlock, Option, PlainTextInputElement, StaticSelectElement
    from slack_sdk.models.views import View

    data = row.data
    view = View(
        type="modal",
        callback_id=ids.REVIEW_REJECT_MODAL,
        private_metadata=str(row.submission_id),
        title="Reject submission",
        submit="Reject",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate(
                        f"Rejecting submission `{row.submission_id}` by *{escape(data.get('worker_name') or 'unknown')}* "
                        f"for *{escape(data.get('campaign_title') or '')}*. The worker sees the reason.",
                        SECTION_TEXT_LIMIT,
                    )
                )
            ),
            InputBlock(
                block_id=ids.REJECT_PRESET_BLOCK,
                label="Common reason",
                optional=True,
                element=StaticSelectElement(
                    action_id=ids.REJECT_PRESET_INPUT,
                    placeholder="Pick a reason",
                    options=[Option(value=str(n), text=reason) for n, reason in enumerate(PRESET_REASONS)],
                ),
            ),
            InputBlock(
                block_id=ids.REJECT_REASON_BLOCK,
                label="Reason (or details)",
                optional=True,
                element=PlainTextInputElement(action_id=ids.REJECT_REASON_INPUT, multiline=True, max_length=1000),
            ),
        ],
    )
    return view.to_dict()


def reason_from_view(values: object) -> str:
    """The typed reason, else the chosen preset; '' when neither is given (or the state is malformed)."""
    typed = state_text(values, ids.REJECT_REASON_BLOCK, ids.REJECT_REASON_INPUT)
    chosen = state_choice(values, ids.REJECT_PRESET_BLOCK, ids.REJECT_PRESET_INPUT)
    preset = ""
    if isinstance(chosen, str) and chosen.isascii() and chosen.isdigit() and int(chosen) < len(PRESET_REASONS):
        preset = PRESET_REASONS[int(chosen)]
    if typed and preset:
        return f"{preset}: {typed}"
    return typed or preset


# --- batch messages (a backlog past GIGDESK_BATCH_ABOVE) ------------------------------

BATCH_SIZE = 10
PROOF_SNIPPET = 160
COMPACT_FLAG = {
    "duplicate_other_worker": "duplicate screenshot (another worker)",
    "duplicate_same_worker": "duplicate screenshot (same worker)",
    "copied_text": "copied proof text",
    "burst": "burst",
    "unchecked": "image not checked",
}


def _compact_flags(data: dict, *, new_account_days: int, low_approval_rate: float, forensics=()) -> list[str]:
    """The card's flags, one short phrase each (a batch row has no room for the evidence)."""
    flags = fraud_flags(data, new_account_days=new_account_days, low_approval_rate=low_approval_rate)
    flags += [f":rotating_light: {COMPACT_FLAG.get(f.kind, escape(f.kind))}" for f in forensics if f.suspicious]
    flags += [f"{CHECKING_MARK} proof being checked" for f in forensics if f.kind == "checking"]
    return flags


def batch_row_blocks(
    row: SubmissionRow,
    block: dict | None = None,
    *,
    new_account_days: int = 7,
    low_approval_rate: float = 60.0,
    with_images: bool = True,
    forensics=(),
) -> list[Block]:
    """One compact row of a batch message: worker, flags, proof snippet, a thumbnail, and
    Approve / Reject while it waits; once decided, one collapsed line with the outcome."""
    from slack_sdk.models.blocks import ImageElement

    data = row.data
    sid = row.submission_id
    worker = data.get("worker_name") or "unknown worker"
    head = (f"*{truncate(escape(worker), 100)}* (`{truncate(escape(data.get('worker_id')), 40)}`)"
            f" · {truncate(escape(data.get('campaign_title') or 'Untitled campaign'), 80)} · {money(data.get('pay'))}")
    state = row.state
    if state in OUTCOME_ICON:  # collapsed: no image, no buttons
        lines = [head + f" · `{sid}`", *_status_line(row, block)]
        return [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_TEXT_LIMIT)))]

    flags = _compact_flags(data, new_account_days=new_account_days, low_approval_rate=low_approval_rate, forensics=forensics)
    proof = " ".join((data.get("proof_text") or "").split())
    lines = [head]
    if flags:
        lines.append(" · ".join(flags))
    lines.append("> " + (truncate(escape(proof), PROOF_SNIPPET) if proof else "_No proof text._"))
    images = [i for i in data.get("images") or [] if _is_web_url(i.get("thumbnail_url") or i.get("url"))]
    thumb = images[0] if images and with_images else None
    rest = images[1:] if thumb else images
    if rest:  # every image of the submission is shown or linked
        lines.append("Images: " + " ".join(
            link(i["url"] if _is_web_url(i.get("url")) else i["thumbnail_url"], str(n))
            for n, i in enumerate(rest, 2 if thumb else 1)))
    lines.extend(_status_line(row, block))
    lines.append(f"Submitted {when(data.get('submitted_at'))} · submission `{sid}`")
    accessory = None
    if thumb:
        url = thumb["thumbnail_url"] if _is_web_url(thumb.get("thumbnail_url")) else thumb["url"]
        accessory = ImageElement(image_url=url, alt_text=f"Proof image 1 of {len(images)}")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_TEXT_LIMIT)),
                                        accessory=accessory)]
    if state in ("claimed", "posted"):
        elements = [
            ButtonElement(text="Approve", action_id=ids.REVIEW_BATCH_APPROVE, value=str(sid), style="primary"),
            ButtonElement(text="Reject", action_id=ids.REVIEW_BATCH_REJECT, value=str(sid), style="danger"),
        ]
        if block is None:
            elements.append(ButtonElement(
                text="Block worker", action_id=ids.REVIEW_BATCH_BLOCK, value=str(sid), style="danger",
                confirm=ConfirmObject(
                    title="Block this worker?",
                    text=PlainTextObject(text=truncate(f"{plain(worker, 100)} will no longer see any of your campaigns. "
                                                       "This submission stays open for review.", 300), emoji=False),
                    confirm="Block worker", deny="Cancel", style="danger",
                ),
            ))
        blocks.append(ActionsBlock(block_id=f"batch-{sid}", elements=elements))
    return blocks


def batch_message(rows: list[SubmissionRow], render_row) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of a batch message; `render_row(row)` gives a row's blocks."""
    waiting = sum(1 for r in rows if r.state not in OUTCOME_ICON)
    blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(
        text=f":inbox_tray: {len(rows)} submissions to review (batched: a backlog) · {waiting} waiting")])]
    for row in rows:
        blocks.append(DividerBlock())
        blocks.extend(render_row(row))
    text = f"{waiting} of {len(rows)} submissions to review: " + ", ".join(str(r.submission_id) for r in rows)
    return truncate(text, 3000), [b.to_dict() for b in blocks]


# Message metadata stays small whatever the backlog: a list of ids in it has at most this many.
METADATA_IDS_MAX = 50


def batch_metadata(rows: list[SubmissionRow]) -> dict:
    """Metadata naming every submission of a batch message, in row order (recovery finds each)."""
    if len(rows) > BATCH_SIZE:  # a batch message is at most BATCH_SIZE rows: its metadata names each
        raise ValueError(f"a batch message holds at most {BATCH_SIZE} submissions, not {len(rows)}")
    return {
        "event_type": ids.SUBMISSION_BATCH_EVENT,
        "event_payload": {"submission_ids": [r.submission_id for r in rows]},
    }


# --- reminders (GIGDESK_REMIND_AFTER_HOURS) --------------------------------------------

REMINDER_LISTED = 20


def reminder_message(rows: list[SubmissionRow], links: dict[int, str | None], *, hours: int, group: str | None) -> tuple[str, list[dict]]:
    """One nudge for a channel: the submissions waiting longer than `hours`, each linked to its
    message; `group` (a validated S… id) is mentioned when set."""
    head = f":alarm_clock: {len(rows)} submission{'s' if len(rows) != 1 else ''} waiting more than {hours} h for review"
    if group:
        head = f"<!subteam^{group}> {head}"
    lines = []
    for row in rows[:REMINDER_LISTED]:
        data = row.data
        label = f"{data.get('worker_name') or 'unknown worker'} · {data.get('campaign_title') or 'Untitled campaign'}"
        shown = link(links.get(row.submission_id), truncate(label, 120))
        lines.append(f"• {shown} · submission `{row.submission_id}` · submitted {when(data.get('submitted_at'))}")
    if len(rows) > REMINDER_LISTED:
        lines.append(f"…and {len(rows) - REMINDER_LISTED} more.")
    body = truncate(head + ":\n" + "\n".join(lines), SECTION_TEXT_LIMIT)
    text = truncate(head.replace(f"<!subteam^{group}> ", "") if group else head, 3000)
    return text, [SectionBlock(text=MarkdownTextObject(text=body)).to_dict()]


def reminder_metadata(rows: list[SubmissionRow]) -> dict:
    """Which submissions a nudge is about: the first METADATA_IDS_MAX ids and how many in all
    (the database, not the message, remembers who was reminded)."""
    return {"event_type": ids.REVIEW_REMINDER_EVENT,
            "event_payload": {"submission_ids": [r.submission_id for r in rows[:METADATA_IDS_MAX]], "count": len(rows)}}
