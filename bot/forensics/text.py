"""Proof text compared across workers: only distinctive text that few workers share is evidence.

Honest workers write the same stock sentences ("All steps done, confirmation page
attached."): such text is boilerplate, not a copy. Text is compared only when it is
distinctive (enough words outside the stock proof vocabulary and the campaign's own words), and a match is flagged only
while few workers use it (see `is_boilerplate`). benchmarks/forensics.py measures the rule.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MIN_LENGTH = 12  # normalised characters; shorter proofs are too generic to compare
# Words outside the stock vocabulary a text needs before matching it means anything
# (a name, a place, an order number, an unusual phrase).
MIN_DISTINCTIVE_WORDS = 2
# Copied text is flagged only while at most this many workers use it in the campaign
# (a copy ring is a few accounts) and at most MAX_SHARERS_ANYWHERE across campaigns:
# text more workers use is a stock phrase, and earlier flags on it are withdrawn.
MAX_SHARERS = 3
MAX_SHARERS_ANYWHERE = 5
TEMPLATES = frozenset(
    {
        "done", "ok", "okay", "completed", "complete", "finished", "task done", "task completed",
        "done thanks", "done thank you", "all done", "job done", "done see screenshot",
        "see screenshot", "screenshot attached", "see attached", "done screenshot attached",
        "completed as requested", "task completed successfully", "done as requested",
    }
)
_STOP_WORDS = (
    "a an the and or but is are was were am be been being i im i m me my mine it its it s this that these those here"
    " there to of on in at for with as by from into onto via per you your yours we our us they them their he she his"
    " her so then now just also too very all any each every both some no not yes up out off over again once please"
    " thanks thank thx ty pls hi hello dear sir madam have has had do does did done can could will would should may"
    " might must get got see seen look new one two three four five 1 2 3 4 5 first last same well good great nice"
)
_PROOF_VOCABULARY = (
    "done completed complete completing finished finish task tasks job jobs work step steps instruction instructions"
    " requested request required as asked successfully success fully proof proofs screenshot screenshots screen shot"
    " shots ss image images picture pictures pic pics photo photos attached attach attaching attachment uploaded upload"
    " sent submitted submit above below follow followed following follower liked like likes subscribe subscribed"
    " subscription share shared retweet retweeted tweet comment commented comments post posted posting review reviewed"
    " reviews rating rated rate star stars left wrote written page profile account accounts username user name"
    " handle channel video watched watch visited visit site website app installed install downloaded download signed"
    " sign signup registered register confirmation confirmed confirm email mail link clicked click form survey"
    " answered answers filled fill check checked verify verified verification code order ordered approve approved"
    " kindly accept pay payment"
)
STOCK_WORDS = frozenset((_STOP_WORDS + " " + _PROOF_VOCABULARY).split())
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """Case, punctuation and whitespace folded: 'Done!  See  SCREENSHOT.' -> 'done see screenshot'."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _NOT_WORD.sub(" ", text).strip()


def distinctive_words(norm: str, context: str = "") -> set[str]:
    """The words of normalised text outside the stock proof vocabulary and outside `context`
    (the campaign's own title and requirement, which workers echo back). Bare numbers of one or
    two digits count as stock ('5 stars')."""
    echoed = set(normalise(context).split())
    return {w for w in norm.split() if w not in STOCK_WORDS and w not in echoed and not (w.isdigit() and len(w) <= 2)}


def fingerprint(text: str | None, context: str = "") -> str | None:
    """A digest of the normalised text, or None when it is not worth comparing: too short, a
    template, or too few distinctive words (see distinctive_words)."""
    norm = normalise(text)
    if len(norm) < MIN_LENGTH or norm in TEMPLATES or len(distinctive_words(norm, context)) < MIN_DISTINCTIVE_WORDS:
        return None
    return hashlib.sha256(norm.encode()).hexdigest()


def is_boilerplate(workers_in_campaign: int, workers_anywhere: int) -> bool:
    """Text this many different workers use (this one included) is a stock phrase, not a copy."""
    return workers_in_campaign > MAX_SHARERS or workers_anywhere > MAX_SHARERS_ANYWHERE
