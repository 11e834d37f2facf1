"""The daily digest and the low-balance alert: pure functions from gathered facts to (text, blocks).

Campaign titles come from RapidWorkers (anyone who can create a campaign
chooses them): they are escaped with bot.slack.mrkdwn.escape in mrkdwn and cut with
plain() in plain_text fields. Blocks are slack_sdk.models objects, so Slack's
length limits are checked when they are turned into dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.slack.mrkdwn import date_token, escape, iso_epoch, link, mention, money, plain, progress_bar, truncate, when
from bot.text import plural
from bot.wonolo_desk.blocks import can_recruit, digest_section, request_title, unfilled_slots, venue_time

SECTION_TEXT_LIMIT = 3000
MAX_CAMPAIGNS = 20  # one section each; keeps a digest well under 50 blocks
MAX_COMPLETED = 10
MAX_REVIEWERS = 25
TITLE_LIMIT = 200


@dataclass(frozen=True)
class ReviewerTally:
    """Decisions of one reviewer (user_id None: decided on the RapidWorkers website)."""

    user_id: str | None
    approved: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.rejected


@dataclass(frozen=True)
class Waiting:
    """Posted submissions that wait for a decision."""

    count: int = 0
    oldest_id: int | None = None
    oldest_title: str | None = None
    oldest_since: str | None = None  # ISO time
    oldest_link: str | None = None  # permalink of its review message
    flagged: int = 0  # of them, flagged by the proof checks (bot.forensics)


@dataclass(frozen=True)
class LowBalance:
    """Why the balance is low (see bot.digest.alerts)."""

    threshold: Decimal
    waiting_count: int
    waiting_cost: Decimal
    below_threshold: bool
    below_waiting: bool

    @property
    def low(self) -> bool:
        return self.below_threshold or self.below_waiting


@dataclass
class DigestData:
    """Everything a digest says, gathered by bot.digest.service.DigestService."""

    day_label: str  # e.g. "Sunday 8 March 2026", in the digest time zone
    now_epoch: float
    kind: str = "manual"
    balance: Decimal | None = None
    previous_balance: Decimal | None = None
    rw_error: str | None = None
    low: LowBalance | None = None
    jobs_count: int = 0
    jobs_cost: Decimal = Decimal("0")
    approvals_count: int = 0
    approvals_paid: Decimal = Decimal("0")
    active: Sequence[Any] = field(default_factory=list)  # bot.rapidworkers.client.Campaign
    reviewers: Sequence[ReviewerTally] = field(default_factory=list)
    waiting: Waiting = field(default_factory=Waiting)
    completed: Sequence[Any] = field(default_factory=list)  # Campaign, completed since the last digest
    wonolo: Any = None  # bot.blocks.wonolo.WonoloSummary when Wonolo is configured
    second_approvals: Sequence[Any] = field(default_factory=list)  # storage.rows.Offer waiting for a second spender


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))


def _title(campaign: Any) -> str:
    return truncate(escape(getattr(campaign, "title", None) or "Untitled campaign"), TITLE_LIMIT)


def campaign_lines(campaign: Any) -> str:
    """Title, progress bar with completed/total, slots left, counts, success rate."""
    done, total = int(campaign.completed or 0), int(campaign.total or 0)
    rate = escape(str(campaign.success_rate)) if getattr(campaign, "success_rate", None) not in (None, "") else "n/a"
    return (
        f"*{_title(campaign)}*\n"
        f"`{progress_bar(done, total)}` {done}/{total} done · {plural(int(campaign.remaining or 0), 'slot')} left"
        f" · success rate {rate}\n"
        f"Pending {campaign.pending} · Approved {campaign.approved} · Rejected {campaign.rejected}"
    )


def balance_change(balance: Decimal | None, previous: Decimal | None) -> str | None:
    if balance is None or previous is None:
        return None
    delta = Decimal(balance) - Decimal(previous)
    if delta > 0:
        return f"up {money(delta)} since the last digest"
    if delta < 0:
        return f"down {money(-delta)} since the last digest"
    return "unchanged since the last digest"


def low_balance_line(low: LowBalance | None) -> str | None:
    if low is None or not low.low:
        return None
    reasons = []
    if low.below_threshold:
        reasons.append(f"below the alert threshold of {money(low.threshold)}")
    if low.below_waiting:
        reasons.append(
            f"not enough to approve the {plural(low.waiting_count, 'waiting submission')} ({money(low.waiting_cost)})"
        )
    return ":warning: Balance is " + " and ".join(reasons) + "."


def _reviewer_line(t: ReviewerTally) -> str:
    who = mention(t.user_id) if t.user_id else "On RapidWorkers (outside Slack)"
    parts = []
    if t.approved:
        parts.append(f"{t.approved} approved")
    if t.rejected:
        parts.append(f"{t.rejected} rejected")
    return f"• {who}: {', '.join(parts) or 'none'}"


def waiting_text(w: Waiting) -> str:
    text = f"*Waiting for review:* {plural(w.count, 'submission')}"
    if w.flagged:
        text += f" (:rotating_light: {w.flagged} flagged by the proof checks)"
    if w.oldest_id is not None:
        oldest = f"submission `{w.oldest_id}`"
        if w.oldest_title:
            oldest += f" for *{truncate(escape(w.oldest_title), TITLE_LIMIT)}*"
        if w.oldest_since:
            oldest += f", waiting since {when(w.oldest_since)}"
        if w.oldest_link:
            oldest += f" · {link(w.oldest_link, 'open it')}"
        text += f"\nOldest: {oldest}"
    return text


MAX_NEEDS = 5  # lines per kind of thing that waits


def age_words(seconds: float) -> str:
    """A waiting time in words: 12 min, 5 h, 1 day, 3 days."""
    minutes = max(0, int(seconds // 60))
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else plural(hours // 24, "day")


def unfilled_shifts(wonolo: Any, *, tomorrow_only: bool = False) -> list[Any]:
    """Wonolo requests still recruiting with slots to fill (bot.wonolo_desk's own rules): upcoming
    ones (the App Home), or tomorrow's (the digest, which is about the day ahead)."""
    if wonolo is None or getattr(wonolo, "error", None):
        return []
    shifts = wonolo.tomorrow if tomorrow_only else wonolo.upcoming
    return [jr for jr in shifts if can_recruit(jr.state) and unfilled_slots(jr, None)]


def needs_action_lines(waiting: Waiting, wonolo: Any, second_approvals: Sequence[Any], now_epoch: float, *,
                       tomorrow_only: bool = False) -> list[str]:
    """What waits for someone, most pressing first: the review backlog and its oldest age, unfilled
    shifts, spend offers waiting for a second approval. Empty: nothing waits."""
    lines = []
    if waiting.count:
        since = iso_epoch(waiting.oldest_since)
        age = f" (the oldest for {age_words(now_epoch - since)})" if since is not None else ""
        lines.append(f":inbox_tray: {waiting_text(waiting)}{age}")
    shifts = unfilled_shifts(wonolo, tomorrow_only=tomorrow_only)
    if shifts:
        lines.append(f":construction_worker: *Unfilled shifts:* {len(shifts)}")
        for jr in shifts[:MAX_NEEDS]:
            lines.append(f"• *{truncate(escape(request_title(jr)), 100)}* · {unfilled_slots(jr, None)} open · "
                         f"{venue_time(jr.start_time, jr.timezone)}")
    if second_approvals:
        lines.append(f":raised_hands: *Waiting for a second approval:* {len(second_approvals)}")
        for offer in list(second_approvals)[:MAX_NEEDS]:
            what = truncate(escape(str((offer.params or {}).get("summary") or offer.action)), 150)
            lines.append(f"• {money(offer.cost)} · {what} · asked by {mention(offer.user_id)} {when(offer.asked_at or offer.created_at)}")
    return lines


def needs_action_blocks(waiting: Waiting, wonolo: Any, second_approvals: Sequence[Any], now_epoch: float, *,
                        tomorrow_only: bool = False) -> list[Block]:
    lines = needs_action_lines(waiting, wonolo, second_approvals, now_epoch, tomorrow_only=tomorrow_only)
    if not lines:
        return [_section("*Needs action:* nothing waits :tada:")]
    return [_section(truncate("*Needs action*\n" + "\n".join(lines), SECTION_TEXT_LIMIT))]


def is_quiet(d: DigestData) -> bool:
    """Nothing to report beyond the balance."""
    return not (
        d.active or d.completed or d.reviewers or d.waiting.count or d.jobs_count or d.approvals_count
    )


def _balance_block(d: DigestData) -> list[Block]:
    if d.balance is None:
        return []
    line = f"*Balance:* {money(d.balance)}"
    change = balance_change(d.balance, d.previous_balance)
    if change:
        line += f" ({change})"
    low = low_balance_line(d.low)
    if low:
        line += f"\n{low}"
    return [_section(line)]


def _spent_blocks(d: DigestData) -> list[Block]:
    if not (d.jobs_count or d.approvals_count):
        return []
    parts = []
    if d.jobs_count:
        parts.append(f"{plural(d.jobs_count, 'job')} created ({money(d.jobs_cost)})")
    if d.approvals_count:
        parts.append(f"{plural(d.approvals_count, 'approval')} paid ({money(d.approvals_paid)})")
    return [_section(f"*Spent in the last 24 h:* {money(d.jobs_cost + d.approvals_paid)} — " + ", ".join(parts))]


def _campaign_blocks(d: DigestData) -> list[Block]:
    if not d.active:
        return []
    blocks: list[Block] = [DividerBlock(), _section(f"*Active campaigns ({len(d.active)})*")]
    blocks += [_section(campaign_lines(campaign)) for campaign in list(d.active)[:MAX_CAMPAIGNS]]
    if len(d.active) > MAX_CAMPAIGNS:
        more = len(d.active) - MAX_CAMPAIGNS
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {more} more: `/rw campaigns Active`")]))
    return blocks


def _reviewer_blocks(d: DigestData) -> list[Block]:
    if not d.reviewers:
        return []
    total = sum(t.total for t in d.reviewers)
    lines = [_reviewer_line(t) for t in list(d.reviewers)[:MAX_REVIEWERS]]
    if len(d.reviewers) > MAX_REVIEWERS:
        lines.append(f"…and {len(d.reviewers) - MAX_REVIEWERS} more reviewers")
    return [DividerBlock(), _section(f"*Decisions in the last 24 h ({total})*\n" + "\n".join(lines))]


def _completed_blocks(d: DigestData) -> list[Block]:
    if not d.completed:
        return []
    lines = [f"• *{_title(c)}* ({int(c.completed or 0)}/{int(c.total or 0)} done)" for c in list(d.completed)[:MAX_COMPLETED]]
    if len(d.completed) > MAX_COMPLETED:
        lines.append(f"…and {len(d.completed) - MAX_COMPLETED} more")
    return [DividerBlock(), _section(f"*Completed since the last digest ({len(d.completed)})*\n" + "\n".join(lines))]


def digest_message(d: DigestData) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of a digest: what needs action first, then the money and the rest.
    Empty sections are left out."""
    title = "Daily digest" if d.kind == "scheduled" else "Digest"
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=plain(f"{title} · {d.day_label}", 150), emoji=True))]
    if d.rw_error:
        blocks.append(_section(f":warning: RapidWorkers unavailable: {truncate(escape(d.rw_error), 500)}"))
    if needs_action_lines(d.waiting, d.wonolo, d.second_approvals, d.now_epoch, tomorrow_only=True):
        blocks.extend(needs_action_blocks(d.waiting, d.wonolo, d.second_approvals, d.now_epoch, tomorrow_only=True))
    blocks += _balance_block(d)
    if is_quiet(d):
        blocks.append(_section("Nothing else to report: no active campaigns, no spending, no decisions and nothing waiting for review."))
    else:
        blocks += _spent_blocks(d) + _campaign_blocks(d) + _reviewer_blocks(d) + _completed_blocks(d)
    if d.wonolo is not None:
        blocks.append(DividerBlock())
        blocks.extend(digest_section(d.wonolo))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"gigdesk · {date_token(d.now_epoch, d.day_label)}")]))

    summary = [f"balance {money(d.balance)}" if d.balance is not None else "balance unavailable"]
    summary.append(plural(len(d.active), "active campaign"))
    summary.append(f"{d.waiting.count} waiting for review")
    text = f"gigdesk {title.lower()} for {d.day_label}: " + ", ".join(summary)
    return truncate(text, 3000), [b.to_dict() for b in blocks]


def low_balance_alert(balance: Decimal, low: LowBalance) -> tuple[str, list[dict]]:
    """The one message posted to the review channel when the balance runs low."""
    reason = low_balance_line(low) or ""
    text = f"RapidWorkers balance is low: {money(balance)}. Top up before approving more work."
    blocks: list[Block] = [
        _section(f":rotating_light: *RapidWorkers balance is low: {money(balance)}*\n{reason}"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Top up on RapidWorkers; approvals and new jobs fail when the balance runs out. "
                    "I will alert again only after the balance has recovered and dropped again."
                )
            ]
        ),
    ]
    return text, [b.to_dict() for b in blocks]
