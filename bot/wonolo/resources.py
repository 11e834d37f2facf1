"""Wonolo's resources (job requests, jobs, users, badges, messages) read from its JSON,
and the arithmetic on them (estimated cost, open slots)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from bot.apiclient.coerce import to_bool, to_datetime, to_decimal, to_float, to_int
from bot.apiclient.fields import api_field, from_api

JOB_REQUEST_STATES = (
    "draft", "unassigned", "posted", "filled", "in_progress",
    "completed", "approved", "cancelled", "unfilled",
)
JOB_STATES = (
    "pending", "rejected", "filled", "in_progress", "completed",
    "approved", "cancelled", "withdrawn", "no_show", "paused",
)
USER_TYPES = ("Worker", "Employer")
# Job states that occupy a slot of their JobRequest (used to derive slots_filled).
_SLOT_STATES = frozenset({"filled", "in_progress", "completed", "approved", "paused"})


# --------------------------------------------------------------------------- value coercion


def _id(value: Any) -> int | str | None:
    """Wonolo ids are integers; keep a non-numeric string id as a string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    return text or None


def _dicts(value: Any) -> tuple[dict, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, dict))


def _badge_names(value: Any) -> tuple[str, ...]:
    """user_badges[] items may be strings, {name}, {badge_name} or {badge: {name}}."""
    names: list[str] = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            badge = item.get("badge")
            name = (badge.get("name") if isinstance(badge, dict) else None) \
                or item.get("name") or item.get("badge_name")
            if name:
                names.append(str(name))
    return tuple(names)


# --------------------------------------------------------------------------- resources


class _Resource:
    """from_dict for the resources below: each field declares its API spelling and parser."""

    @classmethod
    def _fallbacks(cls, d: dict) -> dict[str, Any]:
        """Values derived from elsewhere in the object, used when a field is absent."""
        return {}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """Build from an API object, ignoring anything unexpected."""
        d = dict(d)
        return from_api(cls, d, fallbacks=cls._fallbacks(d), raw=d)


def _user_or_none(value: Any) -> User | None:
    return User.from_dict(value) if isinstance(value, dict) else None


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class User(_Resource):
    """A Wonoloer (type "Worker") or a requestor (type "Employer")."""

    id: int | str | None = api_field(parse=_id)
    type: str | None = api_field(default=None)
    first_name: str | None = api_field(default=None)
    last_name: str | None = api_field(default=None)
    email: str | None = api_field(default=None)
    phone: str | None = api_field(default=None)
    rating: float | None = api_field(parse=to_float, default=None)
    suspended: bool | None = api_field(parse=to_bool, default=None)
    address_state: str | None = api_field(default=None)
    badges: tuple[str, ...] = api_field("user_badges", "badges", parse=_badge_names, default=())
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        """First and last name, or a fallback that is never empty."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p).strip()
        return name or self.email or (f"user {self.id}" if self.id is not None else "unknown user")


@dataclass(frozen=True)
class Job(_Resource):
    """One Wonoloer's place on a JobRequest."""

    id: int | str | None = api_field(parse=_id)
    state: str | None = api_field(default=None)
    job_request_id: int | str | None = api_field(parse=_id, default=None)
    worker: User | None = api_field(parse=_user_or_none, default=None)
    employer: User | None = api_field(parse=_user_or_none, default=None)
    hours_worked: float | None = api_field(parse=to_float, default=None)
    actual_duration: int | None = api_field(parse=to_int, default=None)
    confirmed_at: datetime | None = api_field(parse=to_datetime, default=None)
    started_at: datetime | None = api_field(parse=to_datetime, default=None)
    completed_at: datetime | None = api_field(parse=to_datetime, default=None)
    requestor_notes: str | None = api_field(default=None)
    transitions: tuple[dict, ...] = api_field(parse=_dicts, default=())
    updated_at: datetime | None = api_field(parse=to_datetime, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _fallbacks(cls, d: dict) -> dict[str, Any]:
        """The job request's id may come only inside an embedded job_request."""
        jr = d.get("job_request")
        return {"job_request_id": _id(jr.get("id"))} if isinstance(jr, dict) else {}


@dataclass(frozen=True)
class JobRequest(_Resource):
    """A request for Wonoloers; its state mostly follows its Jobs' states."""

    id: int | str | None = api_field(parse=_id)
    state: str | None = api_field(default=None)
    request_name: str | None = api_field(default=None)
    category: str | None = api_field(default=None)
    description: str | None = api_field(default=None)
    address: str | None = api_field(default=None)
    city: str | None = api_field(default=None)
    zip: str | None = api_field(default=None)
    venue: str | None = api_field(default=None)
    start_time: datetime | None = api_field(parse=to_datetime, default=None)
    duration: int | None = api_field(parse=to_int, default=None)
    slots: int | None = api_field(parse=to_int, default=None)
    slots_filled: int | None = api_field(parse=to_int, default=None)
    wage: Decimal | None = api_field(parse=to_decimal, default=None)
    employer_id: int | str | None = api_field(parse=_id, default=None)
    company_id: int | str | None = api_field(parse=_id, default=None)
    timezone: str | None = api_field(default=None)
    multi_day_job_request_id: int | str | None = api_field(parse=_id, default=None)
    badge_requirements: tuple = api_field(parse=_tuple, default=())
    updated_at: datetime | None = api_field(parse=to_datetime, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _fallbacks(cls, d: dict) -> dict[str, Any]:
        """Without slots_filled, count the embedded jobs that hold a slot (a job
        without a state is assumed to)."""
        if not isinstance(d.get("jobs"), list):
            return {}
        return {"slots_filled": sum(
            1 for j in d["jobs"]
            if isinstance(j, dict) and (j.get("state") is None or j.get("state") in _SLOT_STATES)
        )}


def estimated_cost(slots: int | None, duration_minutes: int | None, wage: Decimal | None) -> Decimal | None:
    """Wages of a job request if every slot works its full length: slots x hours x wage.

    Wonolo's own fees are not public, so they are not included. None when a
    factor is unknown.
    """
    if slots is None or duration_minutes is None or wage is None or slots < 0 or duration_minutes < 0:
        return None
    return (Decimal(slots) * Decimal(duration_minutes) / 60 * wage).quantize(Decimal("0.01"))


def open_slots(slots: int | None, filled: int | None) -> int | None:
    """Slots nobody holds yet; None when Wonolo did not say how many slots there are."""
    if slots is None:
        return None
    return max(0, slots - (filled or 0))


@dataclass(frozen=True)
class Badge(_Resource):
    """A qualification required to accept a JobRequest."""

    id: int | str | None = api_field(parse=_id)
    name: str | None = api_field(default=None)
    description: str | None = api_field(default=None)
    info_url: str | None = api_field(default=None)
    remote_icon_url: str | None = api_field(default=None)
    is_soft: bool | None = api_field(parse=to_bool, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Message(_Resource):
    """An in-app message between a requestor and a Wonoloer about a Job."""

    id: int | str | None = api_field(parse=_id)
    sender_id: int | str | None = api_field(parse=_id, default=None)
    receiver_id: int | str | None = api_field(parse=_id, default=None)
    job_id: int | str | None = api_field(parse=_id, default=None)
    body: str | None = api_field(default=None)
    created_at: datetime | None = api_field(parse=to_datetime, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)
