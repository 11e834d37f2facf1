"""API models declared field by field: each field names the API spellings it accepts and its parser.

    @dataclass(frozen=True)
    class Worker:
        id: str = api_field("workerId", "userId", parse=to_text)
        rating: float | None = api_field(parse=to_float, default=None)  # spelled "rating"

    from_api(Worker, {"userId": 7})  # Worker(id="7", rating=None)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bot.apiclient.coerce import to_str

T = TypeVar("T")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
Parser = Callable[[Any], Any]
Lookup = Callable[[Any, tuple[str, ...]], Any]


def first_given(data: Any, spellings: tuple[str, ...]) -> Any:
    """The value of the first of these keys that is present and not None."""
    if not isinstance(data, Mapping):
        return None
    for key in spellings:
        value = data.get(key)
        if value is not None:
            return value
    return None


def api_field(*spellings: str, parse: Parser = to_str, **options: Any) -> Any:
    """A dataclass field read from the first given of `spellings` (default: the field's
    own name) through `parse`; `options` go to dataclasses.field (e.g. default=None)."""
    return dataclasses.field(metadata={"api": (spellings, parse)}, **options)


def from_api(
    cls: type[T],
    data: Any,
    *,
    lookup: Lookup = first_given,
    fallbacks: Mapping[str, Any] | None = None,
    **given: Any,
) -> T:
    """Build `cls` from an API object. `given` values are used as they are; a `fallbacks`
    value stands in when the API gives none, or one its parser cannot read."""
    fallbacks = fallbacks or {}
    values = dict(given)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        spec = f.metadata.get("api")
        if spec is None or f.name in values:
            continue
        spellings, parse = spec
        raw = lookup(data, spellings or (f.name,))
        parsed = parse(raw)
        if f.name in fallbacks and (raw is None or parsed is None):
            parsed = fallbacks[f.name]
        values[f.name] = parsed
    return cls(**values)


def is_safe_id(value: object, max_length: int = 64) -> bool:
    """A plain id that is safe in a URL path or a button value: 1..max_length ASCII letters,
    digits, '-' or '_' (so "../" or "?" can never change which endpoint is called)."""
    return isinstance(value, str) and 0 < len(value) <= max_length and _SAFE_ID.fullmatch(value) is not None
