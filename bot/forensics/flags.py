"""A proof check's flags and their evidence (stored as JSON in proof_checks.flags)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bot.errors import UserError

DUPLICATE_SAME_WORKER = "duplicate_same_worker"
DUPLICATE_OTHER_WORKER = "duplicate_other_worker"
COPIED_TEXT = "copied_text"
BURST = "burst"
UNCHECKED = "unchecked"
CHECKING = "checking"  # not stored: shown while a posted submission's check has not finished
DISMISSED = "dismissed"  # not stored: a flag someone marked "not a problem" (detail: its kind)
TRUSTED = "trusted"  # not stored: the worker is trusted, their soft flags are not shown
# Kinds that mean "look before paying" (an unchecked image is only a notice).
SUSPICIOUS = frozenset({DUPLICATE_SAME_WORKER, DUPLICATE_OTHER_WORKER, COPIED_TEXT, BURST})
# Circumstantial kinds a trusted worker is spared; a reused screenshot is hard evidence and stays.
SOFT = frozenset({COPIED_TEXT, BURST})


@dataclass(frozen=True)
class Evidence:
    """Another submission that a flag points at, as it stands now."""

    submission_id: int
    worker_id: str | None = None
    worker_name: str | None = None
    status: str | None = None  # pending | approved | rejected | None (not ours / unknown)
    channel: str | None = None
    ts: str | None = None
    image_no: int | None = None  # its matching image
    distance: int | None = None  # pHash Hamming distance
    link: str | None = None  # its Slack message, when it was posted


@dataclass(frozen=True)
class Flag:
    kind: str
    image_no: int | None = None  # this submission's image the flag is about
    detail: str = ""  # a short reason (unchecked images) or a count (bursts)
    evidence: tuple[Evidence, ...] = ()
    by: str | None = None  # who dismissed it / trusted the worker (DISMISSED, TRUSTED)

    @property
    def suspicious(self) -> bool:
        return self.kind in SUSPICIOUS

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["by"] is None:
            del d["by"]  # stored flags are never decisions
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Flag:
        return cls(
            kind=d["kind"],
            image_no=d.get("image_no"),
            detail=d.get("detail") or "",
            evidence=tuple(Evidence(**e) for e in d.get("evidence") or ()),
            by=d.get("by"),
        )


NOT_OURS = "That button does not belong to a submission I know."
MAX_VALUE = 100  # a button value of ours is "<id>:<kind>:<image>", far shorter


def parse_flag_value(value: object) -> tuple[int, str, int]:
    """(submission id, flag kind, image number or 0) from a "Not a problem" button's value;
    only the exact shape the bot writes is accepted."""
    text = value if isinstance(value, str) and len(value) <= MAX_VALUE else ""
    parts = text.split(":")
    if len(parts) != 3 or parts[1] not in SUSPICIOUS or not all(is_exact_id(p) for p in (parts[0], parts[2])):
        raise UserError(NOT_OURS)
    return int(parts[0]), parts[1], int(parts[2])


def flag_value(submission_id: int, flag: Flag) -> str:
    """The value parse_flag_value reads back."""
    return f"{submission_id}:{flag.kind}:{flag.image_no or 0}"


def is_exact_id(text: str) -> bool:
    """ASCII digits only, as the bot writes ids (not "1_001", " 1001" or "１００１", which int() takes)."""
    return text.isascii() and text.isdigit() and len(text) <= 18
