"""Booking Wonolo shifts from Slack: the modal, what it means, the offer and its result.

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

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.slack import ids
from bot.slack.mrkdwn import escape, mention, money, truncate
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


def _zone(name: str) -> ZoneInfo | None:
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


def parse_view(values: dict, now: datetime | None = None) -> tuple[Booking | None, dict[str, str]]:
    """(booking, {}) or (None, {block_id: what is wrong}) from the submitted modal."""
    now = now or datetime.now(UTC)
    errors: dict[str, str] = {}

    def text(block: str, what: str, limit: int, *, required: bool = True) -> str:
        value = state_text(values, block, INPUT)
        if required and not value:
            errors[block] = f"Give the {what}."
        elif len(value) > limit:
            errors[block] = f"At most {limit} characters."
        return value

    title = text(ids.WONOLO_BOOK_TITLE_BLOCK, "job title", TITLE_LIMIT)
    description = text(ids.WONOLO_BOOK_DESCRIPTION_BLOCK, "job description", DESCRIPTION_LIMIT)
    venue = text(ids.WONOLO_BOOK_VENUE_BLOCK, "venue", TEXT_LIMIT, required=False)
    address = text(ids.WONOLO_BOOK_ADDRESS_BLOCK, "street address", TEXT_LIMIT)
    city = text(ids.WONOLO_BOOK_CITY_BLOCK, "city", TEXT_LIMIT, required=False)
    zip_code = text(ids.WONOLO_BOOK_ZIP_BLOCK, "ZIP code", 20, required=False)

    zone_name = state_choice(values, ids.WONOLO_BOOK_ZONE_BLOCK, INPUT) or ""
    zone = _zone(zone_name)
    if zone is None:
        errors[ids.WONOLO_BOOK_ZONE_BLOCK] = "Pick the venue's time zone."

    slots = 0
    raw = state_text(values, ids.WONOLO_BOOK_SLOTS_BLOCK, INPUT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SLOTS:
        errors[ids.WONOLO_BOOK_SLOTS_BLOCK] = f"A whole number of workers from 1 to {MAX_SLOTS}."
    else:
        slots = int(raw)

    wage = Decimal("0")
    raw = state_text(values, ids.WONOLO_BOOK_WAGE_BLOCK, INPUT).lstrip("$")
    try:
        wage = Decimal(raw)
        if not wage.is_finite() or wage != wage.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[ids.WONOLO_BOOK_WAGE_BLOCK] = "Dollars per hour, e.g. 18.50."
    else:
        if not MIN_WAGE <= wage <= MAX_WAGE:
            errors[ids.WONOLO_BOOK_WAGE_BLOCK] = f"Between {money(MIN_WAGE)} and {money(MAX_WAGE)} an hour."

    start = _time(_picked(values, ids.WONOLO_BOOK_START_BLOCK, "selected_time"))
    end = _time(_picked(values, ids.WONOLO_BOOK_END_BLOCK, "selected_time"))
    if start is None:
        errors[ids.WONOLO_BOOK_START_BLOCK] = "Pick the start time."
    if end is None:
        errors[ids.WONOLO_BOOK_END_BLOCK] = "Pick the end time."

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

    starts: list[str] = []
    duration = 0
    if zone is not None and start is not None and end is not None and days and date_block(0) not in errors:
        minutes = shift_minutes(days[0], start, end, zone)
        if minutes is not None and not 0 < minutes <= MAX_SHIFT_HOURS * 60:
            errors[ids.WONOLO_BOOK_END_BLOCK] = f"A shift lasts at most {MAX_SHIFT_HOURS} hours."
        duration = minutes or 0
        for day in days:
            moment = venue_start_utc(day, start, zone)
            if moment is None:
                errors[ids.WONOLO_BOOK_START_BLOCK] = (f"{start:%H:%M} does not exist on {day:%a %-d %b} in {zone_name} "
                                                       "(the clocks go forward). Pick another time.")
                break
            if minutes is None:
                errors[ids.WONOLO_BOOK_END_BLOCK] = f"{end:%H:%M} does not exist that day in {zone_name}. Pick another time."
                break
            if moment <= now:
                errors[date_block(0)] = "That shift would start in the past."
                break
            if moment > now + timedelta(days=MAX_DAYS_AHEAD):
                errors[date_block(0)] = "Book at most a year ahead."
                break
            starts.append(_utc_iso(moment))

    badges = _multi(values, ids.WONOLO_BOOK_BADGES_BLOCK)[:20]
    customer = state_choice(values, ids.WONOLO_BOOK_CUSTOMER_BLOCK, INPUT)
    if errors or start is None or end is None:
        return None, errors
    return Booking(
        title=title, description=description, venue=venue, address=address, city=city, zip=zip_code,
        timezone=zone_name, dates=[d.isoformat() for d in days], start=f"{start:%H:%M}", end=f"{end:%H:%M}",
        starts_utc=starts, duration=duration, slots=slots, wage=str(wage.quantize(Decimal("0.01"))),
        badge_ids=badges, customer_id=customer,
    ), {}


# --------------------------------------------------------------------------- the modal


@dataclass
class Prefill:
    """What the modal starts with ("Book again": a completed request's fields, no date)."""

    title: str = ""
    description: str = ""
    venue: str = ""
    address: str = ""
    city: str = ""
    zip: str = ""
    timezone: str | None = None
    start: str | None = None    # HH:MM venue-local
    end: str | None = None
    slots: int | None = None
    wage: str | None = None
    badge_ids: tuple[str, ...] = ()
    source: str | None = None   # the job request it was copied from


def prefill_from_request(jr) -> Prefill:
    """A completed job request's fields, its times in its venue's zone; the date is left empty."""
    zone = _zone(jr.timezone or "")
    start = end = None
    if jr.start_time is not None and zone is not None:
        begin = (jr.start_time if jr.start_time.tzinfo else jr.start_time.replace(tzinfo=UTC)).astimezone(zone)
        start = f"{begin:%H:%M}"
        if jr.duration:
            end = f"{begin + timedelta(minutes=jr.duration):%H:%M}"
    badges = tuple(str(b.get("badge_id") or b.get("id")) for b in jr.badge_requirements
                   if isinstance(b, dict) and (b.get("badge_id") or b.get("id")) is not None)
    return Prefill(title=(jr.request_name or "")[:TITLE_LIMIT], description=(jr.description or "")[:DESCRIPTION_LIMIT],
                   venue=(jr.venue or "")[:TEXT_LIMIT], address=(jr.address or "")[:TEXT_LIMIT],
                   city=(jr.city or "")[:TEXT_LIMIT], zip=(jr.zip or "")[:20],
                   timezone=jr.timezone if zone is not None else None, start=start, end=end,
                   slots=jr.slots if jr.slots and 1 <= jr.slots <= MAX_SLOTS else None,
                   wage=str(jr.wage) if jr.wage is not None else None, badge_ids=badges,
                   source=str(jr.id) if jr.id is not None else None)


def _option(value: str, label: str) -> Option:
    return Option(value=value[:150], label=truncate(" ".join(label.split()) or value, 75))


def _text_input(block: str, label: str, value: str, limit: int, *, optional: bool = False, multiline: bool = False,
                placeholder: str | None = None) -> InputBlock:
    return InputBlock(block_id=block, label=label, optional=optional,
                      element=PlainTextInputElement(action_id=INPUT, initial_value=value[:limit] or None, max_length=limit,
                                                    multiline=multiline, placeholder=placeholder))


def book_modal(prefill: Prefill | None = None, *, badges: list | None = None, customers: list[dict] | None = None) -> dict:
    """The /wonolo book modal. `badges` (Badge) and `customers` (dicts) fill their selects when known."""
    p = prefill or Prefill()
    zones = list(ZONES) + ([p.timezone] if p.timezone and p.timezone not in ZONES else [])
    zone_options = [_option(z, z) for z in zones]
    initial_zone = next((o for o in zone_options if o.value == p.timezone), None)
    blocks: list[Block] = []
    if p.source:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"A copy of job request `{escape(p.source)}`: pick the new date(s).")]))
    if customers:
        options = [_option(str(c["id"]), str(c.get("name") or c["id"])) for c in customers if c.get("id") is not None]
        if options:
            blocks.append(InputBlock(block_id=ids.WONOLO_BOOK_CUSTOMER_BLOCK, label="Customer", optional=True,
                                     element=StaticSelectElement(action_id=INPUT, options=options[:MAX_OPTIONS],
                                                                 placeholder="An existing Wonolo customer")))
    blocks += [
        _text_input(ids.WONOLO_BOOK_TITLE_BLOCK, "Job title", p.title, TITLE_LIMIT),
        _text_input(ids.WONOLO_BOOK_DESCRIPTION_BLOCK, "Description", p.description, DESCRIPTION_LIMIT, multiline=True),
        _text_input(ids.WONOLO_BOOK_VENUE_BLOCK, "Venue", p.venue, TEXT_LIMIT, optional=True),
        _text_input(ids.WONOLO_BOOK_ADDRESS_BLOCK, "Street address", p.address, TEXT_LIMIT),
        _text_input(ids.WONOLO_BOOK_CITY_BLOCK, "City", p.city, TEXT_LIMIT, optional=True),
        _text_input(ids.WONOLO_BOOK_ZIP_BLOCK, "ZIP code", p.zip, 20, optional=True),
        InputBlock(block_id=ids.WONOLO_BOOK_ZONE_BLOCK, label="Venue time zone",
                   hint="Dates and times below are in this zone.",
                   element=StaticSelectElement(action_id=INPUT, options=zone_options, initial_option=initial_zone)),
        InputBlock(block_id=date_block(0), label="Date", element=DatePickerElement(action_id=INPUT)),
        *[InputBlock(block_id=date_block(n), label=f"More dates ({n + 1})", optional=True,
                     hint="Multi-day: consecutive days, or the same weekday in consecutive weeks." if n == 1 else None,
                     element=DatePickerElement(action_id=INPUT)) for n in range(1, MAX_DATES)],
        InputBlock(block_id=ids.WONOLO_BOOK_START_BLOCK, label="Start time",
                   element=TimePickerElement(action_id=INPUT, initial_time=p.start)),
        InputBlock(block_id=ids.WONOLO_BOOK_END_BLOCK, label="End time", hint="At or before the start: the next day.",
                   element=TimePickerElement(action_id=INPUT, initial_time=p.end)),
        InputBlock(block_id=ids.WONOLO_BOOK_SLOTS_BLOCK, label="Workers (slots)",
                   element=NumberInputElement(action_id=INPUT, is_decimal_allowed=False, min_value=1, max_value=MAX_SLOTS,
                                              initial_value=str(p.slots) if p.slots else None)),
        InputBlock(block_id=ids.WONOLO_BOOK_WAGE_BLOCK, label="Wage (dollars per hour)",
                   element=NumberInputElement(action_id=INPUT, is_decimal_allowed=True, min_value=str(MIN_WAGE),
                                              max_value=str(MAX_WAGE), initial_value=p.wage)),
    ]
    if badges:
        options = [_option(str(b.id), b.name or str(b.id)) for b in badges if b.id is not None][:MAX_OPTIONS]
        initial = [o for o in options if o.value in p.badge_ids] or None
        if options:
            blocks.append(InputBlock(block_id=ids.WONOLO_BOOK_BADGES_BLOCK, label="Badges required", optional=True,
                                     element=StaticMultiSelectElement(action_id=INPUT, options=options,
                                                                      initial_options=initial)))
    view = View(type="modal", callback_id=ids.WONOLO_BOOK_MODAL, title="Book Wonolo shifts", submit="Review",
                close="Close", private_metadata=json.dumps({"source": p.source}), blocks=blocks)
    return view.to_dict()


# --------------------------------------------------------------------------- offer and result


def _where(b: Booking) -> str:
    parts = [p for p in (b.venue, b.address, b.city, b.zip) if p]
    return truncate(escape(", ".join(parts)), 300)


def what(b: Booking) -> str:
    """One line: what Confirm books (escaped)."""
    days = f"{len(b.dates)} days ({b.repeat_type})" if len(b.dates) > 1 else local_text(b.starts_utc[0], b.timezone)
    return (f"Book *{truncate(escape(b.title), 100)}* on Wonolo: {b.slots} × {b.duration / 60:g} h × "
            f"{money(Decimal(b.wage))}/h, {days}, at {_where(b)}")


def offer_message(b: Booking, cost: Decimal, *, confirmation_id: str | None, minutes: int, terms: list[str],
                  refusal: str | None = None) -> tuple[str, list[dict]]:
    """The review: the shifts in the venue's zone, the estimated cost, the spending rules, Confirm / Cancel."""
    shifts = "\n".join(f"• {local_text(s, b.timezone)} → {b.end} ({b.duration / 60:g} h)" for s in b.starts_utc)
    per_day = estimated_cost(b.slots, b.duration, Decimal(b.wage))
    blocks: list[Block] = []
    if refusal:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":no_entry: {refusal}")))
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=f":calendar: {what(b)}")),
        SectionBlock(text=MarkdownTextObject(text=truncate(f"*Shifts ({escape(b.timezone)}):*\n{shifts}", 3000))),
        SectionBlock(fields=[
            MarkdownTextObject(text=f"*Estimated cost*\n{money(cost)}"),
            MarkdownTextObject(text=f"*How*\n{len(b.dates)} × {b.slots} slots × {b.duration / 60:g} h × "
                                    f"{money(Decimal(b.wage))}/h = {len(b.dates)} × {money(per_day)}"),
        ]),
        ContextBlock(elements=[MarkdownTextObject(text=(
            "Wages only: Wonolo's fee is not reported before booking and is not included. Wonolo bills the company, "
            "so there is no balance to show."))]),
        *[ContextBlock(elements=[MarkdownTextObject(text=line)]) for line in terms],
    ]
    if confirmation_id is not None:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"Nothing is booked until you click Confirm. Only you can confirm; this offer expires in {minutes} minutes.")]))
        blocks.append(ActionsBlock(block_id="wonolo-book-offer", elements=[
            ButtonElement(text="Confirm", action_id=ids.WONOLO_BOOK_CONFIRM, value=confirmation_id, style="primary"),
            ButtonElement(text="Cancel", action_id=ids.WONOLO_BOOK_CANCEL, value=confirmation_id),
        ]))
    text = f"{refusal + ' ' if refusal else ''}{what(b)} — estimated cost {money(cost)}."
    return truncate(text, 3000), [blk.to_dict() for blk in blocks]


def second_approval_request(*, requester: str, summary: str, cost: Decimal, threshold: Decimal | None,
                            confirmation_id: str, hours: int) -> tuple[str, list[dict]]:
    """Posted in the review channel: a second spender's Confirm books it."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f":raised_hand: {mention(requester)} asks to spend *{money(cost)}*:\n{summary}")),
        ContextBlock(elements=[MarkdownTextObject(text=(
            f"Spends that take a person's day above {money(threshold)} need a second spender: anyone in GIGDESK_SPENDERS except {mention(requester)} "
            f"can Confirm. Nothing is booked until then; this request expires in {hours} hours."))]),
        ActionsBlock(block_id="wonolo-book-second", elements=[
            ButtonElement(text="Confirm", action_id=ids.WONOLO_BOOK_CONFIRM, value=confirmation_id, style="primary"),
            ButtonElement(text="Cancel", action_id=ids.WONOLO_BOOK_CANCEL, value=confirmation_id),
        ]),
    ]
    return truncate(f"{mention(requester)} asks to spend {money(cost)} on Wonolo; waiting for a second spender.", 3000), \
        [blk.to_dict() for blk in blocks]
