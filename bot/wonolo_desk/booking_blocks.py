"""The booking modal (empty, or a copy of a request for Book again), the offer with its
cost and Confirm / Cancel, and the second-approval request. Pure builders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

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
from bot.text import plural
from bot.wonolo.client import estimated_cost
from bot.wonolo_desk.booking_form import (
    DESCRIPTION_LIMIT,
    INPUT,
    MAX_DATES,
    MAX_OPTIONS,
    MAX_SLOTS,
    MAX_WAGE,
    MIN_WAGE,
    TEXT_LIMIT,
    TITLE_LIMIT,
    ZONES,
    Booking,
    date_block,
    local_text,
    zone_named,
)

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


def _venue_clock(jr, zone) -> tuple[str | None, str | None]:
    """The request's start and end as HH:MM in its venue's zone (None when unknown)."""
    if jr.start_time is None or zone is None:
        return None, None
    begin = (jr.start_time if jr.start_time.tzinfo else jr.start_time.replace(tzinfo=UTC)).astimezone(zone)
    end = f"{begin + timedelta(minutes=jr.duration):%H:%M}" if jr.duration else None
    return f"{begin:%H:%M}", end


def _badge_ids(jr) -> tuple[str, ...]:
    found = (b.get("badge_id") or b.get("id") for b in jr.badge_requirements if isinstance(b, dict))
    return tuple(str(b) for b in found if b is not None)


def _cut(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def prefill_from_request(jr) -> Prefill:
    """A job request's fields, its times in its venue's zone; the date is left empty."""
    zone = zone_named(jr.timezone or "")
    start, end = _venue_clock(jr, zone)
    slots_ok = bool(jr.slots) and 1 <= jr.slots <= MAX_SLOTS
    return Prefill(title=_cut(jr.request_name, TITLE_LIMIT), description=_cut(jr.description, DESCRIPTION_LIMIT),
                   venue=_cut(jr.venue, TEXT_LIMIT), address=_cut(jr.address, TEXT_LIMIT),
                   city=_cut(jr.city, TEXT_LIMIT), zip=_cut(jr.zip, 20),
                   timezone=jr.timezone if zone is not None else None, start=start, end=end,
                   slots=jr.slots if slots_ok else None,
                   wage=str(jr.wage) if jr.wage is not None else None, badge_ids=_badge_ids(jr),
                   source=str(jr.id) if jr.id is not None else None)


def _option(value: str, label: str) -> Option:
    return Option(value=value[:150], label=truncate(" ".join(label.split()) or value, 75))


def _text_input(block: str, label: str, value: str, limit: int, *, optional: bool = False, multiline: bool = False,
                placeholder: str | None = None) -> InputBlock:
    return InputBlock(block_id=block, label=label, optional=optional,
                      element=PlainTextInputElement(action_id=INPUT, initial_value=value[:limit] or None, max_length=limit,
                                                    multiline=multiline, placeholder=placeholder))


def _customer_block(customers: list[dict] | None) -> list[Block]:
    options = [_option(str(c["id"]), str(c.get("name") or c["id"])) for c in customers or [] if c.get("id") is not None]
    if not options:
        return []
    return [InputBlock(block_id=ids.WONOLO_BOOK_CUSTOMER_BLOCK, label="Customer", optional=True,
                       element=StaticSelectElement(action_id=INPUT, options=options[:MAX_OPTIONS],
                                                   placeholder="An existing Wonolo customer"))]


def _badge_block(badges: list | None, chosen: tuple[str, ...]) -> list[Block]:
    options = [_option(str(b.id), b.name or str(b.id)) for b in badges or [] if b.id is not None][:MAX_OPTIONS]
    if not options:
        return []
    initial = [o for o in options if o.value in chosen] or None
    return [InputBlock(block_id=ids.WONOLO_BOOK_BADGES_BLOCK, label="Badges required", optional=True,
                       element=StaticMultiSelectElement(action_id=INPUT, options=options, initial_options=initial))]


def _place_blocks(p: Prefill) -> list[Block]:
    zones = list(ZONES) + ([p.timezone] if p.timezone and p.timezone not in ZONES else [])
    zone_options = [_option(z, z) for z in zones]
    initial_zone = next((o for o in zone_options if o.value == p.timezone), None)
    return [
        _text_input(ids.WONOLO_BOOK_TITLE_BLOCK, "Job title", p.title, TITLE_LIMIT),
        _text_input(ids.WONOLO_BOOK_DESCRIPTION_BLOCK, "Description", p.description, DESCRIPTION_LIMIT, multiline=True),
        _text_input(ids.WONOLO_BOOK_VENUE_BLOCK, "Venue", p.venue, TEXT_LIMIT, optional=True),
        _text_input(ids.WONOLO_BOOK_ADDRESS_BLOCK, "Street address", p.address, TEXT_LIMIT),
        _text_input(ids.WONOLO_BOOK_CITY_BLOCK, "City", p.city, TEXT_LIMIT, optional=True),
        _text_input(ids.WONOLO_BOOK_ZIP_BLOCK, "ZIP code", p.zip, 20, optional=True),
        InputBlock(block_id=ids.WONOLO_BOOK_ZONE_BLOCK, label="Venue time zone",
                   hint="Dates and times below are in this zone.",
                   element=StaticSelectElement(action_id=INPUT, options=zone_options, initial_option=initial_zone)),
    ]


def _shift_blocks(p: Prefill) -> list[Block]:
    return [
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


def book_modal(prefill: Prefill | None = None, *, badges: list | None = None, customers: list[dict] | None = None,
               problem: str | None = None) -> dict:
    """The /wonolo book modal. `badges` (Badge) and `customers` (dicts) fill their selects when known;
    `problem` (mrkdwn) is shown on top."""
    p = prefill or Prefill()
    blocks: list[Block] = []
    if problem:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":warning: {problem}")))
    if p.source:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"A copy of job request `{escape(p.source)}`: pick the new date(s).")]))
    blocks += [*_customer_block(customers), *_place_blocks(p), *_shift_blocks(p), *_badge_block(badges, p.badge_ids)]
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
            MarkdownTextObject(text=f"*How*\n{plural(len(b.dates), 'day')} × {plural(b.slots, 'slot')} × {b.duration / 60:g} h × "
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
