"""Tolerant scalar coercion of API values: anything unreadable becomes None, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def to_str(value: Any) -> str | None:
    """Text, or None when absent."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def to_text(value: Any) -> str:
    """Text, or "" when absent."""
    return "" if value is None else str(value)


def to_int(value: Any) -> int | None:
    """A whole number from an int, a float or text like "12", " 12 ", "12.0" (truncated)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError, OverflowError):
        return None


def to_count(value: Any) -> int:
    """A whole number, 0 when absent or unreadable."""
    return to_int(value) or 0


def to_float(value: Any) -> float | None:
    """A float from a number or numeric text."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_percent(value: Any) -> float | None:
    """A float from a number or text like "85%"."""
    if value is None or isinstance(value, bool):
        return None
    return to_float(str(value).strip().rstrip("%").strip())


def to_decimal(value: Any) -> Decimal | None:
    """An amount from a number or text like "2.50", "$2.50", "1,000.00"; None unless finite."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        result = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def to_bool(value: Any) -> bool | None:
    """true/false from a bool, a number or text like "true", "yes", "1"."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    return str(value).strip().lower() in ("1", "true", "yes", "y", "t")


def to_datetime(value: Any) -> datetime | None:
    """ISO 8601 (with Z) or epoch seconds -> datetime; anything else -> None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
