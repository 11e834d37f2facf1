"""People's word on proof flags: "Not a problem" on a flag, trust and untrust a worker.

Allowed users only (bot.permissions: a refusal is audited); every decision is audited and
the card is rebuilt from the database after it. A dismissed evidence pair never flags again
and a trusted worker's soft flags are not shown (bot/forensics/judgement.py reads both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from bot.errors import UserError
from bot.forensics.flags import NOT_OURS, is_exact_id, parse_flag_value
from bot.forensics.judgement import Subject, flag_pair_keys
from bot.permissions import Permissions, require_allowed
from bot.slack import ids
from bot.slack.mrkdwn import escape
from storage import audit as audit_store
from storage import flag_decisions as decisions
from storage import submissions as subs
from storage.db import Database, Store
from storage.rows import SubmissionRow

if TYPE_CHECKING:
    from bot.forensics.service import ProofForensics


class Infrastructure(Protocol):
    """What the desk needs of bot.services.Services (named so, not imported: forensics knows no Services)."""

    @property
    def permissions(self) -> Permissions: ...

    @property
    def store(self) -> Store: ...


class FlagDesk:
    """Dismiss flags and trust workers, for the submissions one ProofForensics checks."""

    def __init__(self, services: Infrastructure, forensics: ProofForensics | None, *,
                 refresh: Callable[[int], None], refresh_worker: Callable[[str], None]):
        self.s = services
        self.forensics = forensics
        self._refresh = refresh
        self._refresh_worker = refresh_worker

    @property
    def db(self) -> Database:
        return self.s.store.db

    def _row(self, submission_id: int, message: tuple[str, str] | None) -> SubmissionRow:
        """The submission a button names, which must be the one its message shows."""
        row = subs.get(self.db, submission_id)
        if row is None or (message is not None and (row.channel, row.ts) != tuple(message)):
            raise UserError(NOT_OURS)
        return row

    def dismiss(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> None:
        """"Not a problem" on one flag of a card: its evidence pairs never flag again."""
        submission_id, kind, image_no = parse_flag_value(value)
        row = self._row(submission_id, message)
        require_allowed(self.s, user_id, ids.FLAG_DISMISS, str(submission_id), "mark flags as not a problem")
        if self.forensics is None:
            raise UserError("Proof checks are off (GIGDESK_FORENSICS), so there is no flag to dismiss.")
        flag = next((f for f in self.forensics.flags_for(submission_id) if f.kind == kind and (f.image_no or 0) == image_no), None)
        if flag is None:
            raise UserError(f"That flag is no longer on submission {submission_id}.")
        keys = flag_pair_keys(flag, Subject.load(self.db, submission_id))
        decisions.dismiss(self.db, keys, submission_id=submission_id, kind=kind, user_id=user_id)
        evidence = ", ".join(str(e.submission_id) for e in flag.evidence) or "none"
        audit_store.audit(self.db, user_id, ids.FLAG_DISMISS, str(row.submission_id), "dismissed",
                      f"{kind} (image {image_no or '-'}), evidence submissions {evidence}")
        self._refresh(submission_id)

    def trust(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> str | None:
        """Trust the worker of a card: their soft flags (copied text, bursts) are not shown."""
        row, worker = self._worker_of(value, user_id, ids.FLAG_TRUST_WORKER, "trust workers", message)
        name = row.data.get("worker_name")
        if decisions.trust(self.db, worker, worker_name=name, user_id=user_id):
            audit_store.audit(self.db, user_id, ids.FLAG_TRUST_WORKER, worker, "trusted", f"via submission {row.submission_id}")
        self._refresh_worker(worker)
        return None

    def untrust(self, value: object, user_id: str, *, message: tuple[str, str] | None = None) -> str | None:
        """Trust no longer: the worker's soft flags show again."""
        row, worker = self._worker_of(value, user_id, ids.FLAG_UNTRUST_WORKER, "untrust workers", message)
        if decisions.untrust(self.db, worker):
            audit_store.audit(self.db, user_id, ids.FLAG_UNTRUST_WORKER, worker, "untrusted", f"via submission {row.submission_id}")
        self._refresh_worker(worker)
        return None

    def _worker_of(self, value: object, user_id: str, action: str, what: str,
                   message: tuple[str, str] | None) -> tuple[SubmissionRow, str]:
        text = value if isinstance(value, str) else ""
        if not is_exact_id(text):
            raise UserError(NOT_OURS)
        row = self._row(int(text), message)
        require_allowed(self.s, user_id, action, str(row.submission_id), what)
        if not row.worker_id:
            raise UserError(f"Submission {row.submission_id} names no worker ({escape(str(row.worker_id))}).")
        return row, str(row.worker_id)
