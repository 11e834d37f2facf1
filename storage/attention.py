"""What waits for someone's action, beyond the review backlog (the App Home and digest list it first)."""

from __future__ import annotations

from sqlite_utils import Database

from storage import offers as offer_store
from storage.rows import Offer

MAX_LISTED = 20


def second_approvals_waiting(db: Database, now: str) -> list[Offer]:
    """Spend offers waiting for a second spender's Confirm (not yet expired), oldest first."""
    ids = [r[0] for r in db.execute(
        "SELECT id FROM confirmations WHERE state = 'awaiting_second' AND expires_at > ? ORDER BY asked_at, id LIMIT ?",
        [now, MAX_LISTED],
    ).fetchall()]
    offers = [offer_store.get_confirmation(db, cid) for cid in ids]
    return [o for o in offers if o is not None]
