"""What was spent in a period, from gigdesk's own records (storage/reports.py `spends`): totals by
campaign and by kind, per day per campaign for the chart, one row per spend for the CSV.

Pure: built from stored rows, no Slack or API call. Amounts are Decimals, summed exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from bot.reports.periods import Period
from storage.reports import SpendRow

CENT = Decimal("0.01")
KIND_LABELS = {"job": "jobs", "approval": "approvals", "wonolo": "Wonolo bookings"}
WONOLO_CAMPAIGN = "Wonolo"  # bookings have no campaign: they are grouped under Wonolo and their title


@dataclass(frozen=True)
class Spend:
    """One spend, ready to show: local time, who (a Slack user id), what, which campaign, how much."""

    at: datetime
    user_id: str | None
    kind: str
    what: str
    campaign_id: str | None
    campaign: str
    amount: Decimal


@dataclass(frozen=True)
class CampaignTotal:
    campaign: str
    campaign_id: str | None
    amount: Decimal
    count: int


@dataclass
class SpendReport:
    """A period's spends (optionally only campaigns whose title or id starts with `prefix`)."""

    period: Period
    prefix: str | None
    spends: list[Spend] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((s.amount for s in self.spends), Decimal("0")).quantize(CENT)

    def by_kind(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(lambda: Decimal("0"))
        for s in self.spends:
            totals[s.kind] += s.amount
        return {k: totals[k].quantize(CENT) for k in KIND_LABELS if k in totals}

    def by_campaign(self) -> list[CampaignTotal]:
        """Largest first (then by name)."""
        sums: dict[tuple[str, str | None], list] = {}
        for s in self.spends:
            entry = sums.setdefault((s.campaign, s.campaign_id), [Decimal("0"), 0])
            entry[0] += s.amount
            entry[1] += 1
        totals = [CampaignTotal(name, cid, amount.quantize(CENT), n) for (name, cid), (amount, n) in sums.items()]
        return sorted(totals, key=lambda t: (-t.amount, t.campaign.lower(), t.campaign_id or ""))

    def per_day(self, top: int = 8, other: str = "Other") -> tuple[list[date], dict[str, list[Decimal]]]:
        """The period's days and, per series (the `top` campaigns by spend, then `other` for the
        rest), the amount of each day: what the chart stacks."""
        days = self.period.days
        index = {d: n for n, d in enumerate(days)}
        ranked = self.by_campaign()
        keep = {(t.campaign, t.campaign_id): _series_name(t, ranked) for t in ranked[:top]}
        series: dict[str, list[Decimal]] = {name: [Decimal("0")] * len(days) for name in keep.values()}
        for s in self.spends:
            n = index.get(s.at.date())
            if n is None:
                continue
            name = keep.get((s.campaign, s.campaign_id), other)
            series.setdefault(name, [Decimal("0")] * len(days))[n] += s.amount
        return days, series


def _series_name(total: CampaignTotal, ranked: list[CampaignTotal]) -> str:
    """The campaign's title; two campaigns with one title are told apart by their id."""
    same = sum(1 for t in ranked if t.campaign == total.campaign)
    return total.campaign if same == 1 or not total.campaign_id else f"{total.campaign} ({total.campaign_id[:8]})"


def _amount(raw: str) -> Decimal | None:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _what(row: SpendRow) -> str:
    if row.kind == "job":
        return f"created a {row.detail} job" if row.detail and row.detail != "custom" else "created a custom campaign"
    if row.kind == "approval":
        return f"approved submission {row.ref}" + (f" of {row.detail}" if row.detail else "")
    return "booked on Wonolo" + (f" in {row.detail}" if row.detail else "")


def _parse_time(iso: str, period: Period) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(period.tz)


def build(rows: list[SpendRow], period: Period, prefix: str | None = None) -> SpendReport:
    """The report of these stored spends; `prefix` keeps campaigns whose title or id starts with it
    (case-insensitive). A row whose amount cannot be read is left out (never guessed)."""
    wanted = (prefix or "").strip().lower()
    report = SpendReport(period, prefix.strip() if prefix else None)
    for row in rows:
        amount = _amount(row.amount)
        if amount is None:
            continue
        title = (row.campaign_title or "").strip()
        if row.kind == "wonolo":
            campaign = f"{WONOLO_CAMPAIGN}: {title}" if title else WONOLO_CAMPAIGN
        else:
            campaign = title or f"campaign {row.campaign_id}"
        if wanted and not (campaign.lower().startswith(wanted) or title.lower().startswith(wanted)
                           or (row.campaign_id or "").lower().startswith(wanted)):
            continue
        report.spends.append(Spend(at=_parse_time(row.at, period), user_id=row.user_id, kind=row.kind, what=_what(row),
                                   campaign_id=row.campaign_id, campaign=campaign, amount=amount))
    return report
