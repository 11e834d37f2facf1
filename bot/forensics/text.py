"""Proof text compared across workers: normalised, templates and short texts ignored."""

from __future__ import annotations

import hashlib
import re
import unicodedata

MIN_LENGTH = 12  # normalised characters; shorter proofs are too generic to compare
TEMPLATES = frozenset(
    {
        "done", "ok", "okay", "completed", "complete", "finished", "task done", "task completed",
        "done thanks", "done thank you", "all done", "job done", "done see screenshot",
        "see screenshot", "screenshot attached", "see attached", "done screenshot attached",
        "completed as requested", "task completed successfully", "done as requested",
    }
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """Case, punctuation and whitespace folded: 'Done!  See  SCREENSHOT.' -> 'done see screenshot'."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _NOT_WORD.sub(" ", text).strip()


def fingerprint(text: str | None) -> str | None:
    """A digest of the normalised text, or None when the text is too short or a template."""
    norm = normalise(text)
    if len(norm) < MIN_LENGTH or norm in TEMPLATES:
        return None
    return hashlib.sha256(norm.encode()).hexdigest()
