"""The digest's weekly picture: last week (Monday–Sunday in GIGDESK_TZ) in one chart, decisions per
day (approved, rejected, flagged by the proof checks) above spend per day.

Posted with the first digest of each week, once whatever the restarts or the number of processes:
the week's `weekly_pictures` row is claimed before the upload (storage/reports.py), released only
when Slack certainly shared nothing, so the next digest tries again. A week with no decision, no
flag and no spend gets no picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bot.reports import spend as spend_report
from bot.reports.periods import Period
from storage import reports as report_rows

DECISION_SERIES = ("approved", "rejected", "flagged")


@dataclass(frozen=True)
class Week:
    period: Period
    decisions: dict[str, list[int]]
    spend: list[Decimal]

    @property
    def days(self) -> list[date]:
        return self.period.days

    @property
    def decided(self) -> int:
        return sum(self.decisions["approved"]) + sum(self.decisions["rejected"])

    @property
    def spent(self) -> Decimal:
        return sum(self.spend, Decimal("0"))

    @property
    def empty(self) -> bool:
        return not any(sum(v) for v in self.decisions.values()) and not any(self.spend)

    def title(self) -> str:
        return f"Last week, {self.period.label()}"

    def comment(self) -> str:
        flagged = sum(self.decisions["flagged"])
        return (f":calendar: *Last week in a picture* ({self.period.label()}): {self.decided} decision(s) "
                f"({sum(self.decisions['approved'])} approved, {sum(self.decisions['rejected'])} rejected), "
                f"{flagged} flagged by the proof checks, ${self.spent:,.2f} spent through gigdesk.")

    def alt_text(self) -> str:
        per_day = ", ".join(f"{d:%a} {a}/{r}/{f} ${s:,.2f}" for d, a, r, f, s in zip(
            self.days, *(self.decisions[k] for k in DECISION_SERIES), self.spend, strict=True))
        return f"Bar charts of last week: approved/rejected/flagged and spend per day: {per_day}"


def _local_day(iso: str, period: Period) -> date:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(period.tz).date()


def gather(db, period: Period) -> Week:
    """The week's numbers from gigdesk's records."""
    start, end = period.bounds()
    index = {d: n for n, d in enumerate(period.days)}
    decisions = {k: [0] * len(index) for k in DECISION_SERIES}
    for at, outcome in report_rows.decisions_between(db, start, end):
        n = index.get(_local_day(at, period))
        if n is not None and outcome in decisions:
            decisions[outcome][n] += 1
    for at in report_rows.flagged_between(db, start, end):
        n = index.get(_local_day(at, period))
        if n is not None:
            decisions["flagged"][n] += 1
    spend = [Decimal("0")] * len(index)
    for s in spend_report.build(report_rows.spends(db, start, end), period).spends:
        n = index.get(s.at.date())
        if n is not None:
            spend[n] += s.amount
    return Week(period, decisions, spend)
