"""Unit tier: the spending rules' pure parts (the day counted in GIGDESK_TZ, cents)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.spending.rules import cents, local_day

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("amount", "expected"), [("0", 0), ("1", 100), (Decimal("12.34"), 1234), ("0.005", 1), ("0.004", 0), ("2.675", 268)])
def test_cents_rounds_half_up(amount, expected):
    assert cents(amount) == expected


def test_local_day_is_the_calendar_day_in_the_zone_as_utc_bounds():
    berlin = ZoneInfo("Europe/Berlin")
    # 23:30 UTC on Jan 1 is already Jan 2 in Berlin (UTC+1)
    start, end = local_day(berlin, datetime(2026, 1, 1, 23, 30, tzinfo=UTC))
    assert start == "2026-01-01T23:00:00.000000+00:00" and end == "2026-01-02T23:00:00.000000+00:00"
    # the same moment is still Jan 1 in New York (UTC-5)
    start, end = local_day(ZoneInfo("America/New_York"), datetime(2026, 1, 1, 23, 30, tzinfo=UTC))
    assert start == "2026-01-01T05:00:00.000000+00:00" and end == "2026-01-02T05:00:00.000000+00:00"


def test_local_day_over_a_clock_change_is_23_hours():
    start, end = local_day(ZoneInfo("Europe/Berlin"), datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    hours = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600
    assert hours == 23


def test_local_day_bounds_compare_as_text_with_storage_timestamps():
    start, end = local_day(ZoneInfo("UTC"), datetime(2026, 1, 2, 10, 0, tzinfo=UTC))
    stamp = datetime(2026, 1, 2, 0, 0, tzinfo=UTC).isoformat(timespec="microseconds")
    assert start <= stamp < end
    assert not (start <= datetime(2026, 1, 3, 0, 0, tzinfo=UTC).isoformat(timespec="microseconds") < end)
