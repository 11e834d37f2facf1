"""Report periods in GIGDESK_TZ: this-week | last-week | this-month | last-month | YYYY-MM.

Weeks start on Monday. A period is whole local days; its bounds are turned into UTC ISO text
comparable with stored timestamps. A period still running ends with today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIOD_WORDS = ("this-week", "last-week", "this-month", "last-month")
DEFAULT_PERIOD = "this-month"
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
# What a person may type for a period word: "lastweek", "last_week", "last week" (two words).
_NORMAL = {w.replace("-", ""): w for w in PERIOD_WORDS}
_LOOKS_LIKE_A_PERIOD = re.compile(r"^(\d{2,4}[-/.]\d{1,2}([-/.]\d{1,2})?|(this|last|next|prev(ious)?)[-_]?\w*|\w*(week|month)s?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """Whole local days [first, last] in `tz`; `key` as typed back to the user (this-week, 2025-05…)."""

    key: str
    first: date
    last: date
    tz: ZoneInfo

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self) -> tuple[str, str]:
        """[start, end) as UTC ISO text."""
        return utc_iso(local_midnight(self.first, self.tz)), utc_iso(local_midnight(self.last + timedelta(days=1), self.tz))

    def label(self) -> str:
        """`5–11 May 2025`, `1–31 May 2025`, `28 Apr – 4 May 2025`."""
        a, b = self.first, self.last
        if (a.year, a.month) == (b.year, b.month):
            return f"{a.day}–{b.day} {b:%B %Y}" if a != b else f"{b.day} {b:%B %Y}"
        if a.year == b.year:
            return f"{a.day} {a:%b} – {b.day} {b:%b %Y}"
        return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def utc_iso(moment: datetime) -> str:
    """Same format as storage.db.utcnow(), so bounds compare with stored times as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def normal_word(word: str) -> str | None:
    """The period word meant by `word` (case, `-`, `_` ignored), or None."""
    return _NORMAL.get(re.sub(r"[-_\s]", "", word.lower()))


def looks_like_a_period(word: str) -> bool:
    """A word that was meant as a period (a date-like or week/month word): a typo in it gets the usage."""
    return bool(_LOOKS_LIKE_A_PERIOD.match(word))


def period_of(key: str, tz: ZoneInfo, today: date) -> Period | None:
    """The period a word or YYYY-MM names (today: the local date now); None when it names none."""
    word = normal_word(key)
    if word == "this-week":
        return Period(word, monday(today), today, tz)
    if word == "last-week":
        start = monday(today) - timedelta(days=7)
        return Period(word, start, start + timedelta(days=6), tz)
    if word == "this-month":
        return Period(word, today.replace(day=1), today, tz)
    if word == "last-month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(word, end.replace(day=1), end, tz)
    found = MONTH_RE.match(key.strip())
    if not found:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    first = date(year, month, 1)
    last = min(_month_end(first), today) if first <= today else _month_end(first)
    return Period(f"{year:04d}-{month:02d}", first, last, tz)


def last_week(tz: ZoneInfo, now: datetime) -> Period:
    """The whole Monday–Sunday week before the one `now` is in (local)."""
    period = period_of("last-week", tz, now.astimezone(tz).date())
    assert period is not None
    return period
