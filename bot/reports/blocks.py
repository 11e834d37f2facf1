"""Block Kit of the reports: the /rw spend answer and an /rw audit page (pure builders).

Campaign titles, worker names and audit details come from outside: escaped before they go into
mrkdwn. People are mentions (`<@U…>`), which Slack shows as their names.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.reports.audit import PAGE_SIZE, AuditQuery, Described, mrkdwn_detail
from bot.reports.spend import KIND_LABELS, SpendReport
from bot.slack import ids
from bot.slack.mrkdwn import date_token, escape, money, truncate

TOP_ROWS = 15  # campaigns listed in the text; the rest are in the chart's "Other" and the CSV
SECTION_LIMIT = 3000


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, 2000))])


def _dicts(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]


def period_words(report: SpendReport) -> str:
    period = report.period
    which = f" · campaigns starting with “{truncate(escape(report.prefix), 60)}”" if report.prefix else ""
    return f"{period.key} ({period.label()}, {escape(period.tz.key)}){which}"


def total_line(report: SpendReport) -> str:
    """The one line that states the total (the CSV's amounts add up to it)."""
    return f"Total: {money(report.total)}"


def spend_progress(report_key: str) -> tuple[str, list[dict]]:
    text = f":hourglass_flowing_sand: Adding up the spend of {escape(report_key)}…"
    return text, _dicts([_section(text)])


def spend_message(report: SpendReport, files_note: str | None) -> tuple[str, list[dict]]:
    """The totals by campaign and by kind; `files_note` says where the chart and the CSV went."""
    head = f":bar_chart: *Spend, {period_words(report)}*"
    if not report.spends:
        text = f"{head}\nNothing was spent through gigdesk in this period."
        return text, _dicts([_section(text)])
    kinds = " · ".join(f"{KIND_LABELS[k]} {money(v)}" for k, v in report.by_kind().items())
    summary = f"{head}\n*{total_line(report)}* in {len(report.spends)} spend(s) — {kinds}"
    ranked = report.by_campaign()
    lines = [f"• *{truncate(escape(t.campaign), 120)}* — {money(t.amount)} ({t.count})" for t in ranked[:TOP_ROWS]]
    if len(ranked) > TOP_ROWS:
        rest = sum((t.amount for t in ranked[TOP_ROWS:]), Decimal("0"))
        lines.append(f"…and {len(ranked) - TOP_ROWS} more campaign(s), {money(rest)} together (all in the CSV)")
    blocks: list[Block] = [_section(summary), _section("*By campaign*\n" + "\n".join(lines))]
    if files_note:
        blocks.append(_context(files_note))
    text = f"Spend, {report.period.key}: {total_line(report)}"
    return text, _dicts(blocks)


def _entry_line(when: datetime, user_id: str | None, d: Described) -> str:
    who = f"<@{user_id}>" if user_id else "gigdesk"
    about = f" {truncate(escape(d.about), 160)}" if d.about else ""
    amount = f" · {money(d.amount)}" if d.amount else ""
    detail = f" — {truncate(mrkdwn_detail(d.detail), 200)}" if d.detail else ""
    stamp = date_token(when.timestamp(), f"{when:%-d %b %H:%M}", "{date_short} {time}")
    return f"{stamp} · {who} · *{escape(d.action)}*{about}: {escape(d.outcome)}{amount}{detail}"


def audit_message(query: AuditQuery, entries: list[tuple[datetime, str | None, Described]], *, page: int, pages: int,
                  total: int, values: dict[str, str]) -> tuple[str, list[dict]]:
    """One page: who did what and when, newest first; Previous / Next / CSV carry `values`."""
    head = f":scroll: *Audit* — {query.describe()} · page {page} of {pages} ({total} entr{'y' if total == 1 else 'ies'})"
    blocks: list[Block] = [_section(head)]
    if not entries:
        blocks.append(_section("Nothing recorded" + (" for this filter." if total == 0 else " on this page.")))
    for when, user_id, d in entries[:PAGE_SIZE]:
        blocks.append(_section(_entry_line(when, user_id, d)))
    buttons = []
    if "previous" in values:
        buttons.append(ButtonElement(text="Previous", action_id=ids.AUDIT_PAGE_PREVIOUS, value=values["previous"]))
    if "next" in values:
        buttons.append(ButtonElement(text="Next", action_id=ids.AUDIT_PAGE_NEXT, value=values["next"]))
    if total and "csv" in values:
        buttons.append(ButtonElement(text="CSV", action_id=ids.AUDIT_CSV, value=values["csv"]))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    text = f"Audit, page {page} of {pages}"
    return text, _dicts(blocks)
