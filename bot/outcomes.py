"""What a feature tells the person who clicked, shared by the features that answer clicks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What to tell the person who clicked (None: the rebuilt message says it all)."""

    message: str | None = None
