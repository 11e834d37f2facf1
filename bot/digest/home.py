"""The App Home dashboard: a pure function from gathered facts to a `home` view dict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.digest.blocks import LowBalance, Waiting, campaign_lines, low_balance_line, waiting_text
from bot.slack import ids
from bot.slack.mrkdwn import date_token, escape, mention, money, truncate, when
from bot.wonolo_desk.blocks import home_section
from storage.rows import SubmissionRow

SECTION_TEXT_LIMIT = 3000
MAX_CAMPAIGNS = 25  # a home view may hold 100 blocks
MAX_DECISIONS = 10
OUTCOME_ICON = {"approved": "✅", "rejected": "❌"}


@dataclass
class HomeData:
    """Everything the dashboard shows, gathered by bot.digest.service.DigestService."""

    now_epoch: float
    balance: Decimal | None = None
    rw_error: str | None = None
    low: LowBalance | None = None
    active: Sequence[Any] = field(default_factory=list)  # bot.rapidworkers.client.Campaign
    waiting: Waiting = field(default_factory=Waiting)
    decisions: Sequence[SubmissionRow] = field(default_factory=list)  # storage.submissions rows, newest first
    status: str | None = None  # one short line: "Digest posted …", or an error (trusted mrkdwn)
    wonolo: Any = None  # bot.blocks.wonolo.WonoloSummary when Wonolo is configured


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))


def decision_line(row: SubmissionRow) -> str:
    data = row.data or {}
    outcome = row.outcome or row.state or ""
    icon = OUTCOME_ICON.get(outcome, "•")
    who = f"by {mention(row.decided_by)}" if row.decided_by else "on RapidWorkers"
    title = truncate(escape(data.get("campaign_title") or "Untitled campaign"), 150)
    worker = truncate(escape(data.get("worker_name") or "unknown worker"), 80)
    line = f"{icon} {outcome.capitalize() or 'Decided'} `{row.submission_id}` · {worker} · *{title}* {who} · {when(row.decided_at)}"
    if outcome == "approved" and row.amount_paid:
        line += f" · paid {money(row.amount_paid)}"
    return line


def buttons() -> ActionsBlock:
    return ActionsBlock(
        block_id="home-actions",
        elements=[
            ButtonElement(text="New job", action_id=ids.HOME_NEW_JOB, value="new-job", style="primary"),
            ButtonElement(text="Post digest now", action_id=ids.HOME_POST_DIGEST, value="post-digest"),
            ButtonElement(text="Refresh", action_id=ids.HOME_REFRESH, value="refresh"),
        ],
    )


def home_view(d: HomeData) -> dict:
    """The `home` view published with views.publish."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="gigdesk · RapidWorkers", emoji=True))]
    if d.status:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(d.status, 2000))]))
    if d.rw_error:
        blocks.append(_section(f":warning: RapidWorkers unavailable: {truncate(escape(d.rw_error), 500)}"))
    if d.balance is not None:
        line = f"*Balance:* {money(d.balance)}"
        low = low_balance_line(d.low)
        if low:
            line += f"\n{low}"
        blocks.append(_section(line))
    blocks.append(buttons())

    if d.rw_error and not d.active:
        pass  # campaigns unknown: the warning above says why
    elif d.active:
        blocks.append(DividerBlock())
        blocks.append(_section(f"*Active campaigns ({len(d.active)})*"))
        for campaign in list(d.active)[:MAX_CAMPAIGNS]:
            blocks.append(_section(campaign_lines(campaign)))
        if len(d.active) > MAX_CAMPAIGNS:
            more = len(d.active) - MAX_CAMPAIGNS
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {more} more: `/rw campaigns Active`")]))
    else:
        blocks.append(DividerBlock())
        blocks.append(_section("*Active campaigns:* none"))

    blocks.append(DividerBlock())
    if d.waiting.count:
        blocks.append(_section(waiting_text(d.waiting)))
    else:
        blocks.append(_section("*Waiting for review:* nothing"))

    blocks.append(DividerBlock())
    if d.decisions:
        blocks.append(_section("*Last decisions*"))
        blocks.extend(_section(decision_line(r)) for r in list(d.decisions)[:MAX_DECISIONS])
    else:
        blocks.append(_section("*Last decisions:* none yet"))

    if d.wonolo is not None:
        blocks.append(DividerBlock())
        blocks.extend(home_section(d.wonolo))

    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Updated {date_token(d.now_epoch, 'just now')}")]))
    return View(type="home", blocks=blocks).to_dict()
