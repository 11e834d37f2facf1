"""Stored flags as they stand now: what people decided, and what the text turned out to be.

A check's flags are recorded once; what a card shows is judged again at every read:
* copied text that has since become a stock phrase (too many workers use it) is withdrawn;
* evidence pairs someone marked "not a problem" never flag again (a flag whose evidence
  was all dismissed becomes a DISMISSED line naming who did it);
* a trusted worker's soft flags (copied text, bursts) are not shown (a TRUSTED line says so).
Approve-all reads the same judgement, so what it leaves out is what the cards show.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.forensics.flags import BURST, COPIED_TEXT, DISMISSED, SOFT, TRUSTED, Evidence, Flag
from bot.forensics.text import is_boilerplate
from storage import flag_decisions as decisions
from storage.db import Database


@dataclass(frozen=True)
class Subject:
    """The submission whose flags are judged: its worker and its recorded text."""

    submission_id: int
    worker_id: str | None
    fingerprint: str | None
    campaign_id: str | None

    @classmethod
    def load(cls, db: Database, submission_id: int) -> Subject:
        use = decisions.text_use(db, submission_id)
        worker = decisions.checked_worker(db, submission_id)
        return cls(submission_id, worker, use[0] if use else None, use[1] if use else None)


def pair_key(kind: str, subject: Subject, evidence: Evidence | None) -> str:
    """The key of one evidence pair, the unit "not a problem" applies to.

    Copied text: the text and the two workers (the same words between the same two
    workers never flag again); screenshots: the two submissions; a burst: the submission.
    """
    if evidence is None or kind == BURST:
        return f"burst:{subject.submission_id}"
    if kind == COPIED_TEXT and subject.fingerprint and subject.worker_id and evidence.worker_id:
        first, second = sorted((subject.worker_id, evidence.worker_id))
        return f"text:{subject.fingerprint}:{first}:{second}"
    low, high = sorted((subject.submission_id, evidence.submission_id))
    family = "text" if kind == COPIED_TEXT else "image"
    return f"{family}:{low}:{high}"


def flag_pair_keys(flag: Flag, subject: Subject) -> list[str]:
    """Every evidence pair of a flag (one for a flag without evidence)."""
    return [pair_key(flag.kind, subject, e) for e in flag.evidence] or [pair_key(flag.kind, subject, None)]


def _still_copied(db: Database, subject: Subject) -> bool:
    """Copied text stands while few workers use it (bot/forensics/text.py)."""
    if subject.fingerprint is None:
        return True  # checked before text uses were recorded: as recorded
    return not is_boilerplate(*decisions.text_sharers(db, subject.fingerprint, subject.campaign_id))


def _undismissed(flag: Flag, subject: Subject, dismissed: dict[str, decisions.Decision]) -> Flag:
    """The flag without its dismissed evidence; a DISMISSED line when nothing is left."""
    keys = flag_pair_keys(flag, subject)
    if not flag.evidence:
        decision = dismissed.get(keys[0])
        return flag if decision is None else Flag(DISMISSED, flag.image_no, flag.kind, by=decision.by)
    left = tuple(e for e, key in zip(flag.evidence, keys, strict=True) if key not in dismissed)
    if left:
        return flag if len(left) == len(flag.evidence) else Flag(flag.kind, flag.image_no, flag.detail, left)
    return Flag(DISMISSED, flag.image_no, flag.kind, flag.evidence, by=dismissed[keys[0]].by)


def judged(db: Database, subject: Subject, flags: list[Flag]) -> list[Flag]:
    """The flags a card shows now (see the module docstring)."""
    trusted = decisions.trusted(db, subject.worker_id)
    suspicious = [f for f in flags if f.suspicious]
    if not suspicious:
        return flags + ([Flag(TRUSTED, by=trusted.by)] if trusted is not None else [])
    dismissed = decisions.dismissals(db, [k for f in suspicious for k in flag_pair_keys(f, subject)])
    out: list[Flag] = []
    for flag in flags:
        if not flag.suspicious:
            out.append(flag)
        elif trusted is not None and flag.kind in SOFT:
            continue
        elif flag.kind == COPIED_TEXT and not _still_copied(db, subject):
            continue
        else:
            out.append(_undismissed(flag, subject, dismissed))
    if trusted is not None:
        out.append(Flag(TRUSTED, by=trusted.by))
    return out
