"""The review messages, rebuilt from stored state every time: pure Block Kit builders.

The card of one submission, a batch message's rows, the reject modal and the reminder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.forensics.blocks import CHECKING_MARK, flag_actions, flag_lines
from bot.forensics.service import Flag
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


def fraud_flags(data: dict, *, new_account_days: int, low_approval_rate: float, forensics: Sequence[Flag] = ()) -> list[str]:
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
        elements: list[ImageElement | MarkdownTextObject] = []
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
    """Ids for support, small and out of the way; the campaign is named by its title (its id is
    in its details: `/rw campaign <title>`)."""
    data = row.data
    text = f"submission `{row.submission_id}` · worker `{truncate(escape(data.get('worker_id') or '?'), 60)}`"
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, FIELD_LIMIT))])


def _campaign_title(data: dict, limit: int) -> str:
    return truncate(escape(data.get("campaign_title") or "Untitled campaign"), limit)


def collapsed_message(row: SubmissionRow, block: dict | None = None) -> list[Block]:
    """A decided submission in two lines: outcome, who, when, amount or reason; then what it
    was, with a link to the first proof image. No image blocks, no buttons."""
    data = row.data
    worker = truncate(escape(data.get("worker_name") or "unknown worker"), 80)
    second = [f"*{_campaign_title(data, 150)}* · {money(data.get('pay'))} · {worker}"]
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


@dataclass(frozen=True)
class CardLooks:
    """What a card shows beside its stored row: the worker's block, the flag thresholds, the
    proof-check flags, the campaign's cached requirement, and whether images are inline."""

    block: dict | None = None
    new_account_days: int = 7
    low_approval_rate: float = 60.0
    with_images: bool = True
    forensics: Sequence[Flag] = ()
    requirement: str | None = None


def _fallback_text(row: SubmissionRow, verb: str) -> str:
    data = row.data
    worker, title = data.get("worker_name") or "unknown worker", data.get("campaign_title") or "Untitled campaign"
    return truncate(f"{verb}: submission {row.submission_id} by {escape(worker)} for {escape(title)}", 3000)


def _summary_section(data: dict, requirement: str | None) -> SectionBlock:
    """Campaign title, pay and the proof the campaign asks for."""
    required = data.get("proof_required_description") or requirement
    top = f"*{_campaign_title(data, 150)}* · *{money(data.get('pay'))}*"
    top += "\n*Proof required:* " + (truncate(escape(" ".join(str(required).split())), 1000) if required else "_not given by RapidWorkers_")
    return SectionBlock(text=MarkdownTextObject(text=truncate(top, SECTION_TEXT_LIMIT)))


def card_flags_section(data: dict, looks: CardLooks) -> SectionBlock | None:
    """The card's flag lines (account flags, then the proof checks' flags with their evidence),
    as a section, not a grey context line: flags are what must not be missed. None: no flag."""
    flags = fraud_flags(data, new_account_days=looks.new_account_days, low_approval_rate=looks.low_approval_rate,
                        forensics=looks.forensics)
    if not flags:
        return None
    return SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(flags), SECTION_TEXT_LIMIT)))


def _known(value: object, shown: str) -> str:
    return shown if value is not None else "unknown"


def _worker_fields(data: dict, now: datetime | None) -> SectionBlock:
    rate, age, done = data.get("worker_approval_rate"), data.get("worker_account_age_days"), data.get("worker_total_completed")
    fields = [
        f"*Worker*\n{truncate(escape(data.get('worker_name') or 'unknown worker'), 200)}",
        f"*Country*\n{truncate(escape(data.get('country') or 'unknown'), 200)}",
        f"*Account age*\n{_known(age, f'{age} days')}",
        f"*Approval rate*\n{_known(rate, f'{rate:g}%' if rate is not None else '')}",
        f"*Completed*\n{_known(done, str(done))}",
        f"*Submitted*\n{submitted_ago(data.get('submitted_at'), now)}",
    ]
    return SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in fields])


def _status_section(row: SubmissionRow, block: dict | None, notice: str | None, progress: str | None) -> SectionBlock | None:
    """The action under way (stored or not), the worker's block, and why the last decision failed."""
    waiting = row.state in ("claimed", "posted")
    status = [line for line in (_in_progress(row), progress if waiting else None, _blocked_line(block)) if line]
    if notice and waiting and not progress:
        status.append(f":warning: {truncate(notice, 600)}")
    if not status:
        return None
    return SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(status), SECTION_TEXT_LIMIT)))


def card_blocks(row: SubmissionRow, looks: CardLooks, *, notice: str | None = None, progress: str | None = None,
                now: datetime | None = None, flag_buttons: bool = False) -> list[Block]:
    """A waiting (or in-progress) submission's card without its decision buttons: the channel card
    and the `/rw next` walk show the same card and add their own. `flag_buttons`: the flags'
    "Not a problem" and Trust worker buttons (the channel card's)."""
    data = row.data
    blocks: list[Block] = [_summary_section(data, looks.requirement)]
    flags = card_flags_section(data, looks)
    if flags is not None:
        blocks.append(flags)
    if flag_buttons:
        blocks.extend(flag_actions(row.submission_id, tuple(looks.forensics)))  # bot/forensics/blocks.py
    blocks.append(_worker_fields(data, now))
    proof = escape(data.get("proof_text") or "").strip() or "_No proof text._"
    blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("*Proof*\n" + proof, SECTION_TEXT_LIMIT))))
    blocks.extend(_images(data, looks.with_images))
    blocks.append(_ids_line(row))
    status = _status_section(row, looks.block, notice, progress)
    if status is not None:
        blocks.append(status)
    return blocks


def waits_for_decision(row: SubmissionRow, progress: str | None = None) -> bool:
    """Whether the card offers its decision buttons: waiting, and no action under way."""
    return row.state in ("claimed", "posted") and not progress


def review_message(row: SubmissionRow, looks: CardLooks | None = None, *, notice: str | None = None,
                   progress: str | None = None, now: datetime | None = None) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for a stored submission row.

    `row` is a storage.submissions row: its `data` is Submission.to_dict().
    `notice`: why the last decision failed, shown above the buttons; `progress`: an action
    under way that is no stored state (blocking), shown instead of the buttons (both mrkdwn,
    escaped by the caller). Buttons appear only while the submission waits for a decision;
    a decided one collapses to two lines.
    """
    looks = looks or CardLooks()
    state = row.state
    if state in OUTCOME_ICON:
        return _fallback_text(row, state.capitalize()), [b.to_dict() for b in collapsed_message(row, looks.block)]
    blocks = card_blocks(row, looks, notice=notice, progress=progress, now=now, flag_buttons=True)
    if waits_for_decision(row, progress):
        blocks.append(review_buttons(row, has_block=looks.block is not None))
    return _fallback_text(row, IN_PROGRESS.get(state or "", "To review")), [b.to_dict() for b in blocks]


def _block_button(action_id: str, submission_id: int, worker: str) -> ButtonElement:
    """Block worker, behind a confirm dialog (its text plain: a str would become mrkdwn)."""
    return ButtonElement(
        text="Block worker", action_id=action_id, value=str(submission_id), style="danger",
        confirm=ConfirmObject(
            title="Block this worker?",
            text=PlainTextObject(text=truncate(f"{plain(worker, 100)} will no longer see any of your campaigns. "
                                               "This submission stays open for review.", 300), emoji=False),
            confirm="Block worker", deny="Cancel", style="danger",
        ),
    )


def review_buttons(row: SubmissionRow, *, has_block: bool) -> ActionsBlock:
    """Approve, Reject, Block worker (unless blocked)."""
    sid, value = row.submission_id, str(row.submission_id)
    elements = [
        ButtonElement(text="Approve", action_id=ids.REVIEW_APPROVE, value=value, style="primary"),
        ButtonElement(text="Reject", action_id=ids.REVIEW_REJECT, value=value, style="danger"),
    ]
    if not has_block:
        elements.append(_block_button(ids.REVIEW_BLOCK, sid, row.data.get("worker_name") or "unknown worker"))
    return ActionsBlock(block_id=f"review-{sid}", elements=elements)


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


def reason_inputs() -> list[InputBlock]:
    """The reason fields of a rejection (the reject modal, and Reject in the `/rw next` walk).

    Each is optional to Slack (either one will do: Slack marks both "optional"), so the hint of
    the typed one, and the text above them, say that one of the two is required."""
    return [
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
            hint="Required unless you pick a common reason. The worker sees it.",
            element=PlainTextInputElement(action_id=ids.REJECT_REASON_INPUT, multiline=True, max_length=1000),
        ),
    ]


REASON_MISSING = "Pick a common reason or type one: the worker is told why."


def reject_modal(row: SubmissionRow) -> dict:
    """The modal that asks for a rejection reason (the API requires one)."""
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
                        f"for *{_campaign_title(data, 150)}*. *A reason is required:* pick a common one or type your own.",
                        SECTION_TEXT_LIMIT,
                    )
                )
            ),
            *reason_inputs(),
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


def compact_flags(data: dict, looks: CardLooks) -> list[str]:
    """A batch row's flag lines, one short phrase each (a batch row has no room for the evidence)."""
    flags = fraud_flags(data, new_account_days=looks.new_account_days, low_approval_rate=looks.low_approval_rate)
    flags += [f":rotating_light: {COMPACT_FLAG.get(f.kind, escape(f.kind))}" for f in looks.forensics if f.suspicious]
    flags += [f"{CHECKING_MARK} proof being checked" for f in looks.forensics if f.kind == "checking"]
    return flags


def _batch_head(row: SubmissionRow) -> str:
    data = row.data
    worker = data.get("worker_name") or "unknown worker"
    return (f"*{truncate(escape(worker), 100)}* (`{truncate(escape(data.get('worker_id')), 40)}`)"
            f" · {_campaign_title(data, 80)} · {money(data.get('pay'))}")


def _batch_thumbnail(data: dict, with_images: bool) -> tuple[ImageElement | None, str | None]:
    """The row's accessory thumbnail (the first image) and a line linking every other image:
    every image of the submission is shown or linked."""
    urls = _image_urls(data)
    first = 1 if urls and with_images else 0
    rest = list(enumerate(urls, 1))[first:]
    links = "Images: " + " ".join(link(large, str(n)) for n, (large, _) in rest) if rest else None
    accessory = ImageElement(image_url=urls[0][1], alt_text=f"Proof image 1 of {len(urls)}") if first else None
    return accessory, links


def _batch_buttons(row: SubmissionRow, block: dict | None) -> ActionsBlock:
    sid = row.submission_id
    elements = [
        ButtonElement(text="Approve", action_id=ids.REVIEW_BATCH_APPROVE, value=str(sid), style="primary"),
        ButtonElement(text="Reject", action_id=ids.REVIEW_BATCH_REJECT, value=str(sid), style="danger"),
    ]
    if block is None:
        elements.append(_block_button(ids.REVIEW_BATCH_BLOCK, sid, row.data.get("worker_name") or "unknown worker"))
    return ActionsBlock(block_id=f"batch-{sid}", elements=elements)


def batch_row_blocks(row: SubmissionRow, looks: CardLooks | None = None) -> list[Block]:
    """One compact row of a batch message: worker, flags, proof snippet, a thumbnail, and
    Approve / Reject while it waits; once decided, one collapsed line with the outcome."""
    looks = looks or CardLooks()
    data, sid = row.data, row.submission_id
    head = _batch_head(row)
    if row.state in OUTCOME_ICON:  # collapsed: no image, no buttons
        lines = [head + f" · `{sid}`", *_status_line(row, looks.block)]
        return [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_TEXT_LIMIT)))]
    flags = compact_flags(data, looks)
    proof = " ".join((data.get("proof_text") or "").split())
    lines = [head, *([" · ".join(flags)] if flags else [])]
    lines.append("> " + (truncate(escape(proof), PROOF_SNIPPET) if proof else "_No proof text._"))
    accessory, links = _batch_thumbnail(data, looks.with_images)
    if links:
        lines.append(links)
    lines.extend(_status_line(row, looks.block))
    lines.append(f"Submitted {when(data.get('submitted_at'))} · submission `{sid}`")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_TEXT_LIMIT)),
                                        accessory=accessory)]
    if row.state in ("claimed", "posted"):
        blocks.append(_batch_buttons(row, looks.block))
    return blocks


def batch_message(rows: list[SubmissionRow], render_row: Callable[[SubmissionRow], list[Block]]) -> tuple[str, list[dict]]:
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
