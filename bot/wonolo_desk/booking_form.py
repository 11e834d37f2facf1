"""What a submitted booking form means: the Booking it describes, or what is wrong with it.

Pure: no I/O. The booking rules, once:

* Times are typed in the venue's time zone; each date's start is turned into
  UTC on its own, so a series across a DST change keeps its wall-clock time.
  A time that does not exist that day (the spring-forward gap) is refused; in
  the autumn's repeated hour the first (daylight) occurrence is meant.
* An end time at or before the start time ends the next day (overnight).
* More than one date makes a multi-day request. Wonolo's multi-day requests
  repeat `daily` or `weekly` (`repeat_type`, `repeat_number`), so the dates
  must be consecutive days or the same weekday in consecutive weeks.
* Estimated cost = dates × slots × hours × wage (bot.wonolo.client.estimated_cost).
  Wonolo's fee is not public and not reported before booking, so it is not
  included; a fee the created request reports is shown with the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.slack import ids
from bot.slack.mrkdwn import money
from bot.slack.view_state import state_choice, state_field, state_text
from bot.wonolo.client import estimated_cost

MAX_DATES = 7            # one date plus up to six more: a week of daily shifts
MAX_SLOTS = 100
MIN_WAGE = Decimal("1")
MAX_WAGE = Decimal("500")   # dollars per hour; more is surely a typo
MAX_SHIFT_HOURS = 16
MAX_DAYS_AHEAD = 366
TITLE_LIMIT = 100
DESCRIPTION_LIMIT = 2000
TEXT_LIMIT = 200
MAX_OPTIONS = 100        # Slack's limit for a static select
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
         "America/Anchorage", "Pacific/Honolulu")
INPUT = ids.WONOLO_BOOK_INPUT


def date_block(n: int) -> str:
    """The block id of the n-th date (0: the first, required one)."""
    return ids.WONOLO_BOOK_DATE_BLOCK if n == 0 else f"{ids.WONOLO_BOOK_DATE_BLOCK}-{n}"


@dataclass
class Booking:
    """A checked booking, as stored in the offer (JSON-safe)."""

    title: str
    description: str
    venue: str
    address: str
    city: str
    zip: str
    timezone: str
    dates: list[str]            # ISO dates, sorted
    start: str                  # HH:MM, venue-local
    end: str                    # HH:MM, venue-local (may be the next day)
    starts_utc: list[str]       # one per date
    duration: int               # minutes (of the first date: a DST night changes it)
    slots: int
    wage: str
    badge_ids: list[str] = field(default_factory=list)
    customer_id: str | None = None

    @property
    def repeat_type(self) -> str | None:
        if len(self.dates) < 2:
            return None
        step = date.fromisoformat(self.dates[1]) - date.fromisoformat(self.dates[0])
        return "daily" if step.days == 1 else "weekly"

    def cost(self) -> Decimal:
        each = estimated_cost(self.slots, self.duration, Decimal(self.wage)) or Decimal("0")
        return each * len(self.dates)

    def job_request_fields(self) -> dict:
        """job_request[...] of POST /job_requests (the first date's start)."""
        fields: dict = {
            "request_name": self.title, "description": self.description, "venue": self.venue or None,
            "address": self.address, "city": self.city or None, "zip": self.zip or None,
            "timezone": self.timezone, "start_time": self.starts_utc[0], "duration": self.duration,
            "slots": self.slots, "wage": self.wage, "badge_ids": self.badge_ids or None,
            "customer_id": self.customer_id,
        }
        return {k: v for k, v in fields.items() if v is not None}

    @classmethod
    def from_params(cls, params: dict) -> Booking:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in params.items() if k in names})

    def params(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- times


def zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name and "/" in name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def venue_start_utc(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of `at` on `day` in the venue's zone; None when that wall time does not
    exist there (the spring-forward gap). The repeated autumn hour means its first occurrence."""
    local = datetime.combine(day, at, tzinfo=zone)  # fold=0: the first occurrence
    moment = local.astimezone(UTC)
    back = moment.astimezone(zone)
    if (back.date(), back.time().replace(tzinfo=None)) != (day, at):
        return None
    return moment


def shift_minutes(day: date, start: time, end: time, zone: ZoneInfo) -> int | None:
    """Real minutes from start to end (end at or before start: the next day)."""
    begin = venue_start_utc(day, start, zone)
    finish = venue_start_utc(day + timedelta(days=1) if end <= start else day, end, zone)
    if begin is None or finish is None:
        return None
    return int((finish - begin).total_seconds() // 60)


def local_text(iso_utc: str, zone_name: str) -> str:
    """e.g. "Mon 2 Nov 2026, 07:00 PST" in the venue's zone."""
    moment = datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(zone_name))
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} {moment.tzname()}"


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- reading the modal


def _picked(values: dict, block: str, key: str) -> str:
    value = state_field(values, block, INPUT).get(key)
    return value.strip() if isinstance(value, str) else ""


def _multi(values: dict, block: str) -> list[str]:
    chosen = state_field(values, block, INPUT).get("selected_options")
    if not isinstance(chosen, list):
        return []
    return [o["value"] for o in chosen if isinstance(o, dict) and isinstance(o.get("value"), str)]


def _time(raw: str) -> time | None:
    try:
        parsed = time.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if len(raw) == 5 else None


def _text_field(values: dict, errors: dict[str, str], block: str, what: str, limit: int, *,
                required: bool = True) -> str:
    value = state_text(values, block, INPUT)
    if required and not value:
        errors[block] = f"Give the {what}."
    elif len(value) > limit:
        errors[block] = f"At most {limit} characters."
    return value


def _slots(values: dict, errors: dict[str, str]) -> int:
    raw = state_text(values, ids.WONOLO_BOOK_SLOTS_BLOCK, INPUT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SLOTS:
        errors[ids.WONOLO_BOOK_SLOTS_BLOCK] = f"A whole number of workers from 1 to {MAX_SLOTS}."
        return 0
    return int(raw)


def _wage(values: dict, errors: dict[str, str]) -> Decimal:
    raw = state_text(values, ids.WONOLO_BOOK_WAGE_BLOCK, INPUT).lstrip("$")
    try:
        wage = Decimal(raw)
        if not wage.is_finite() or wage != wage.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[ids.WONOLO_BOOK_WAGE_BLOCK] = "Dollars per hour, e.g. 18.50."
        return Decimal("0")
    if not MIN_WAGE <= wage <= MAX_WAGE:
        errors[ids.WONOLO_BOOK_WAGE_BLOCK] = f"Between {money(MIN_WAGE)} and {money(MAX_WAGE)} an hour."
    return wage


def _days(values: dict, errors: dict[str, str]) -> list[date]:
    """The picked dates, sorted; Wonolo repeats a request only daily or weekly."""
    days: list[date] = []
    for n in range(MAX_DATES):
        raw = _picked(values, date_block(n), "selected_date")
        if not raw:
            if n == 0:
                errors[date_block(0)] = "Pick the date."
            continue
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            errors[date_block(n)] = "Pick a date."
    days = sorted(set(days))
    if len(days) > 1:
        steps = {(b - a).days for a, b in zip(days, days[1:], strict=False)}
        if steps not in ({1}, {7}):
            errors[date_block(0)] = ("Wonolo repeats a request daily or weekly: pick consecutive days, "
                                     "or the same weekday in consecutive weeks.")
    return days


def _start_problem(moment: datetime | None, minutes: int | None, day: date, start: time, end: time,
                   zone_name: str, now: datetime) -> tuple[str, str] | None:
    """(block, what is wrong) with one date's start (its UTC instant `moment`), or None."""
    if moment is None:
        return ids.WONOLO_BOOK_START_BLOCK, (f"{start:%H:%M} does not exist on {day:%a %-d %b} in {zone_name} "
                                             "(the clocks go forward). Pick another time.")
    if minutes is None:
        return ids.WONOLO_BOOK_END_BLOCK, f"{end:%H:%M} does not exist that day in {zone_name}. Pick another time."
    if moment <= now:
        return date_block(0), "That shift would start in the past."
    if moment > now + timedelta(days=MAX_DAYS_AHEAD):
        return date_block(0), "Book at most a year ahead."
    return None


def _shifts(days: list[date], start: time, end: time, zone: ZoneInfo, zone_name: str, now: datetime,
            errors: dict[str, str]) -> tuple[list[str], int]:
    """(each date's start in UTC, the first shift's minutes); the first problem goes in `errors`."""
    minutes = shift_minutes(days[0], start, end, zone)
    if minutes is not None and not 0 < minutes <= MAX_SHIFT_HOURS * 60:
        errors[ids.WONOLO_BOOK_END_BLOCK] = f"A shift lasts at most {MAX_SHIFT_HOURS} hours."
    starts: list[str] = []
    for day in days:
        moment = venue_start_utc(day, start, zone)
        problem = _start_problem(moment, minutes, day, start, end, zone_name, now)
        if problem is not None or moment is None:
            block, message = problem or (ids.WONOLO_BOOK_START_BLOCK, "Pick another time.")
            errors[block] = message
            break
        starts.append(_utc_iso(moment))
    return starts, minutes or 0


def _times(values: dict, errors: dict[str, str]) -> tuple[time | None, time | None]:
    start = _time(_picked(values, ids.WONOLO_BOOK_START_BLOCK, "selected_time"))
    end = _time(_picked(values, ids.WONOLO_BOOK_END_BLOCK, "selected_time"))
    if start is None:
        errors[ids.WONOLO_BOOK_START_BLOCK] = "Pick the start time."
    if end is None:
        errors[ids.WONOLO_BOOK_END_BLOCK] = "Pick the end time."
    return start, end


def _place(values: dict, errors: dict[str, str]) -> dict[str, str]:
    """Title, description and where, as typed (checked for presence and length)."""
    return {
        "title": _text_field(values, errors, ids.WONOLO_BOOK_TITLE_BLOCK, "job title", TITLE_LIMIT),
        "description": _text_field(values, errors, ids.WONOLO_BOOK_DESCRIPTION_BLOCK, "job description",
                                   DESCRIPTION_LIMIT),
        "venue": _text_field(values, errors, ids.WONOLO_BOOK_VENUE_BLOCK, "venue", TEXT_LIMIT, required=False),
        "address": _text_field(values, errors, ids.WONOLO_BOOK_ADDRESS_BLOCK, "street address", TEXT_LIMIT),
        "city": _text_field(values, errors, ids.WONOLO_BOOK_CITY_BLOCK, "city", TEXT_LIMIT, required=False),
        "zip": _text_field(values, errors, ids.WONOLO_BOOK_ZIP_BLOCK, "ZIP code", 20, required=False),
    }


def parse_view(values: dict, now: datetime | None = None) -> tuple[Booking | None, dict[str, str]]:
    """(booking, {}) or (None, {block_id: what is wrong}) from the submitted modal."""
    now = now or datetime.now(UTC)
    errors: dict[str, str] = {}
    place = _place(values, errors)
    zone_name = state_choice(values, ids.WONOLO_BOOK_ZONE_BLOCK, INPUT) or ""
    zone = zone_named(zone_name)
    if zone is None:
        errors[ids.WONOLO_BOOK_ZONE_BLOCK] = "Pick the venue's time zone."
    slots, wage = _slots(values, errors), _wage(values, errors)
    start, end = _times(values, errors)
    days = _days(values, errors)
    starts: list[str] = []
    duration = 0
    if zone is not None and start is not None and end is not None and days and date_block(0) not in errors:
        starts, duration = _shifts(days, start, end, zone, zone_name, now, errors)
    if errors or start is None or end is None:
        return None, errors
    return Booking(
        **place, timezone=zone_name, dates=[d.isoformat() for d in days], start=f"{start:%H:%M}",
        end=f"{end:%H:%M}", starts_utc=starts, duration=duration, slots=slots,
        wage=str(wage.quantize(Decimal("0.01"))), badge_ids=_multi(values, ids.WONOLO_BOOK_BADGES_BLOCK)[:20],
        customer_id=state_choice(values, ids.WONOLO_BOOK_CUSTOMER_BLOCK, INPUT),
    ), {}
