"""Small text helpers shared by the features' words (slash commands, digests, checks)."""

from __future__ import annotations

import difflib


def closest(word: str, choices) -> str | None:
    """The closest of `choices` to `word` (case-insensitive), or None."""
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.5)
    return close[0] if close else None


def suggest(word: str, choices) -> str:
    """' Did you mean `x`?' for the closest of our own `choices`, else ''."""
    found = closest(word, choices)
    return f" Did you mean `{found}`?" if found else ""


def plural(count: int, one: str, many: str | None = None) -> str:
    """"1 day", "2 days" ("1 worker", "3 workers"; `many` for irregular words)."""
    return f"{count} {one if count == 1 else (many or one + 's')}"
