"""The reports' pure parts: periods in GIGDESK_TZ (weeks start Monday), the spend report's sums and
series, CSV cells, the audit's words and button values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.reports import audit, export, periods, spend
from storage.reports import SpendRow

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
SUNDAY = date(2025, 3, 30)  # Europe/Berlin goes to summer time that night


def test_weeks_start_on_monday_in_the_zone_and_bounds_are_utc():
    this = periods.period_of("this-week", BERLIN, SUNDAY)
    assert (this.first, this.last) == (date(2025, 3, 24), SUNDAY)
    last = periods.period_of("last_week", BERLIN, SUNDAY)
    assert (last.first, last.last) == (date(2025, 3, 17), date(2025, 3, 23))
    # Monday 00:00 in Berlin (winter) is Sunday 23:00 UTC; the day after the DST night starts at 22:00 UTC.
    assert this.bounds() == ("2025-03-23T23:00:00.000000+00:00", "2025-03-30T22:00:00.000000+00:00")
    assert periods.period_of("this-week", BERLIN, date(2025, 3, 24)).days == [date(2025, 3, 24)]


@pytest.mark.parametrize("word, first, last", [
    ("this-month", date(2025, 3, 1), SUNDAY),
    ("LastMonth", date(2025, 2, 1), date(2025, 2, 28)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2025-3", date(2025, 3, 1), SUNDAY),          # the current month ends today
    ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
])
def test_months(word, first, last):
    found = periods.period_of(word, BERLIN, SUNDAY)
    assert (found.first, found.last) == (first, last)


@pytest.mark.parametrize("word", ["2025-13", "1999-05", "2025-00", "this-wek", "week", "thisweek2", "2025-03-01"])
def test_not_periods(word):
    assert periods.period_of(word, BERLIN, SUNDAY) is None


def test_labels():
    assert periods.Period("x", date(2025, 4, 28), date(2025, 5, 4), BERLIN).label() == "28 Apr – 4 May 2025"
    assert periods.Period("x", date(2025, 5, 1), date(2025, 5, 31), BERLIN).label() == "1–31 May 2025"


def row(kind, at, amount, title="Likes", cid="c1", user="U1", detail=None, ref="r"):
    return SpendRow(kind=kind, at=at, user_id=user, ref=ref, campaign_id=cid, campaign_title=title, detail=detail, amount=amount)


def test_spend_report_sums_exactly_groups_by_campaign_and_filters_by_prefix():
    may = periods.Period("2025-05", date(2025, 5, 1), date(2025, 5, 3), BERLIN)
    rows = [row("approval", "2025-05-01T10:00:00+00:00", "0.10"), row("approval", "2025-05-01T23:30:00+00:00", "0.20"),
            row("job", "2025-05-02T09:00:00+00:00", "55.00", title="Survey", cid="c2", detail="custom"),
            row("wonolo", "2025-05-03T09:00:00+00:00", "444.00", title="Harbor shift", cid=None),
            row("approval", "2025-05-02T09:00:00+00:00", "not money")]
    report = spend.build(rows, may)
    assert report.total == Decimal("499.30")  # the unreadable amount is left out, never guessed
    assert [(t.campaign, t.amount, t.count) for t in report.by_campaign()] == [
        ("Wonolo: Harbor shift", Decimal("444.00"), 1), ("Survey", Decimal("55.00"), 1), ("Likes", Decimal("0.30"), 2)]
    days, series = report.per_day()
    assert series["Likes"] == [Decimal("0.10"), Decimal("0.20"), 0]  # 23:30 UTC is the next day in Berlin
    assert spend.build(rows, may, "  surv").total == Decimal("55.00")
    assert spend.build(rows, may, "wonolo").total == Decimal("444.00")


def test_per_day_keeps_eight_campaigns_and_puts_the_rest_in_other():
    period = periods.Period("x", date(2025, 5, 1), date(2025, 5, 1), BERLIN)
    rows = [row("approval", "2025-05-01T10:00:00+00:00", str(n + 1), title=f"C{n}", cid=f"c{n}") for n in range(12)]
    _, series = spend.build(rows, period).per_day(top=8)
    assert len(series) == 9 and series["Other"] == [Decimal(1 + 2 + 3 + 4)]
    assert sum(v[0] for v in series.values()) == Decimal(sum(range(1, 13)))


@pytest.mark.parametrize("value, cell", [("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("@cmd", "'@cmd"), ("-2", "'-2"),
                                         ("Likes", "Likes"), (Decimal("3.5"), "3.50"), (None, "")])
def test_csv_cells_are_not_formulas(value, cell):
    assert export.cell(value) == cell


@pytest.mark.parametrize("words, expected", [
    ([], audit.AuditQuery()),
    (["<@U123ABC|sam>"], audit.AuditQuery(user_id="U123ABC")),
    (["@sam"], audit.AuditQuery(user_typed="sam")),
    (["worker", "10042"], audit.AuditQuery(worker_id="10042")),
    (["campaign", "Like", "our"], audit.AuditQuery(campaign="Like our")),
    (["U123ABC", "since", "2025-05-01"], audit.AuditQuery(user_id="U123ABC", since=date(2025, 5, 1))),
])
def test_audit_words(words, expected):
    assert audit.parse(words) == expected


@pytest.mark.parametrize("words", [["since"], ["since", "2025-02-30"], ["worker"], ["campaign"], ["everyone"], ["a", "b"]])
def test_audit_words_that_make_no_filter(words):
    with pytest.raises(audit.UserError, match="Usage"):
        audit.parse(words)


def test_page_values_round_trip():
    query = audit.AuditQuery(campaign="Like «our» page", since=date(2025, 5, 1))
    assert audit.parse_page_value(audit.page_value(query, 3)) == (query, 3)
