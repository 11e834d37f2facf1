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

from bot.digest.blocks import LowBalance, Waiting, campaign_lines, low_balance_line, needs_action_blocks
from bot.observability.home_health import HealthFacts
from bot.slack import ids
from bot.slack.mrkdwn import date_token, escape, mention, money, truncate, when
from bot.wonolo_desk.blocks import home_section
from storage.rows import SubmissionRow

SECTION_TEXT_LIMIT = 3000
MAX_CAMPAIGNS = 25  # a home view may hold 100 blocks
MAX_DECISIONS = 10
MAX_PEOPLE = 15
MAX_INCIDENTS = 10
MAX_ROUTES = 15
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
    second_approvals: Sequence[Any] = field(default_factory=list)  # storage.rows.Offer waiting for a second spender
    health: HealthFacts | None = None  # allowed users only (bot.observability.home_health)


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


def buttons(*, review_next: bool = False) -> ActionsBlock:
    first = [ButtonElement(text="Review next", action_id=ids.NEXT_OPEN, value="next", style="primary")] if review_next else []
    return ActionsBlock(
        block_id="home-actions",
        elements=[
            *first,
            ButtonElement(text="New job", action_id=ids.HOME_NEW_JOB, value="new-job", style=None if review_next else "primary"),
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
    # What waits for someone comes first; then the money and the campaigns.
    blocks.extend(needs_action_blocks(d.waiting, d.wonolo, d.second_approvals, d.now_epoch))
    blocks.append(buttons(review_next=bool(d.waiting.count)))
    if d.balance is not None:
        line = f"*Balance:* {money(d.balance)}"
        low = low_balance_line(d.low)
        if low:
            line += f"\n{low}"
        blocks.append(_section(line))

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
    if d.decisions:
        blocks.append(_section("*Last decisions*"))
        blocks.extend(_section(decision_line(r)) for r in list(d.decisions)[:MAX_DECISIONS])
    else:
        blocks.append(_section("*Last decisions:* none yet"))

    if d.wonolo is not None:
        blocks.append(DividerBlock())
        blocks.extend(home_section(d.wonolo))

    if d.health is not None:
        blocks.append(DividerBlock())
        blocks.extend(health_blocks(d.health, d.now_epoch))

    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Updated {date_token(d.now_epoch, 'just now')}")]))
    return View(type="home", blocks=blocks).to_dict()


def _who(users: frozenset[str], otherwise: str) -> str:
    return ", ".join(mention(u) for u in sorted(users)[:MAX_PEOPLE]) + (f" and {len(users) - MAX_PEOPLE} more" if len(users) > MAX_PEOPLE else "") if users else otherwise


def _sync_line(h: HealthFacts) -> str:
    if h.last_sync_at is None:
        return "*Review sync:* none finished yet in this process"
    result = f":warning: {truncate(escape(h.last_sync_problem), 300)}" if h.last_sync_problem else "ok, no errors"
    return f"*Review sync:* {date_token(h.last_sync_at, 'recently')} · {result} (every {h.poll_seconds} s)"


def health_blocks(h: HealthFacts, now_epoch: float) -> list[Block]:
    """The Health section (allowed users): is gigdesk well, and what does it allow."""
    lines = [_sync_line(h)]
    if h.wonolo_enabled:
        lines.append(f"*Wonolo:* last webhook {when(h.last_webhook_at) if h.last_webhook_at else 'never'} · "
                     f"last poll {when(h.last_poll_at) if h.last_poll_at else 'never'}")
    lines.append(f"*RapidWorkers budget:* {h.budget_left} of {h.budget_limit} requests left this hour")
    lines.append(f"*Errors in the last hour:* {h.errors_last_hour} (calls to Slack, RapidWorkers and Wonolo that failed)")
    if h.incidents:
        lines.append(f"*Open incidents ({len(h.incidents)}):*")
        lines += [f"• :rotating_light: {truncate(r.detail or r.key, 300)} (since {when(r.opened_at)})" for r in h.incidents[:MAX_INCIDENTS]]
    else:
        lines.append("*Open incidents:* none")
    channel = f"members of <#{h.review_channel}> (not guests)" if h.review_channel else "nobody (no review channel)"
    access = [f"*May review:* {_who(h.reviewers, channel)}", f"*May spend:* {_who(h.spenders, 'nobody (GIGDESK_SPENDERS is empty)')}"]
    limits = [f"daily spend {money(h.daily_spend_limit) if h.daily_spend_limit is not None else 'no limit'} per person",
              f"second approval above {money(h.second_approval_above)} a day" if h.second_approval_above is not None else "no second approval",
              f"{h.hourly_limit} RapidWorkers requests an hour"]
    access.append("*Limits:* " + " · ".join(limits))
    routes = [f"`{truncate(escape(cid), 40)}` → <#{channel}>" for cid, channel in list(h.routes.items())[:MAX_ROUTES]]
    access.append("*Routes:* " + (", ".join(routes) + (f" and {len(h.routes) - MAX_ROUTES} more" if len(h.routes) > MAX_ROUTES else "")
                                  if routes else f"none (everything goes to {f'<#{h.review_channel}>' if h.review_channel else 'the review channel'})"))
    # Short sections: Slack folds a long one behind "See more".
    return [
        HeaderBlock(text=PlainTextObject(text="Health", emoji=True)),
        *(_section("\n".join(part)) for part in (lines[:4], lines[4:], access[:2], access[2:]) if part),
        ContextBlock(elements=[MarkdownTextObject(text=f"gigdesk {escape(h.version)} · checked {date_token(now_epoch, 'just now')}")]),
    ]
