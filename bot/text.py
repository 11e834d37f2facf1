"""Small text helpers shared by the slash commands (/rw and /wonolo)."""

from __future__ import annotations

import difflib


def suggest(word: str, choices) -> str:
    """' Did you mean `x`?' for the closest of our own `choices`, else ''."""
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.5)
    return f" Did you mean `{close[0]}`?" if close else ""
