"""The campaigns gigdesk has seen: last synced counts, the proof requirement, the 'completed'
mark the digest reports once, and the short keys of long campaign ids.

Every write to `campaigns` goes through one upsert (`_upsert`): a caller names the columns a
known campaign takes from its row; the others keep what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.db import Database, all_rows, utcnow, write

COUNT_COLUMNS = ("title", "status", "pending", "approved", "rejected", "completed", "total", "synced_at")
# How a known campaign takes a column from the new row. A listing without the requirement keeps
# the one already known; the first 'completed' mark stays.
_SET = {
    "proof_required_description": "coalesce(excluded.proof_required_description, campaigns.proof_required_description)",
    "completed_seen_at": "coalesce(campaigns.completed_seen_at, excluded.completed_seen_at)",
}
_COLUMNS = ("campaign_id", *COUNT_COLUMNS, "proof_required_description", "completed_seen_at")


def _upsert(db: Database, rows: Iterable[dict], update: tuple[str, ...]) -> None:
    """Insert each row (missing columns NULL); a campaign already stored takes only `update`."""
    marks = ", ".join("?" * len(_COLUMNS))
    assignments = ", ".join(f"{c} = {_SET.get(c, f'excluded.{c}')}" for c in update)
    sql = (f"INSERT INTO campaigns ({', '.join(_COLUMNS)}) VALUES ({marks})"
           f" ON CONFLICT (campaign_id) DO UPDATE SET {assignments}")
    with write(db):
        for row in rows:
            db.execute(sql, [row.get(c) for c in _COLUMNS])


def campaign_counts(db: Database) -> dict[str, dict]:
    return {r["campaign_id"]: r for r in all_rows(db.execute("SELECT * FROM campaigns"))}


def save_campaign_counts(db: Database, rows: list[dict]) -> None:
    """Store the counts seen in this sync (one transaction)."""
    now = utcnow()
    _upsert(db, ({**row, "synced_at": now} for row in rows), (*COUNT_COLUMNS, "proof_required_description"))


def mark_completed_seen(db: Database, rows: list[dict]) -> None:
    """Mark these campaigns (campaign-count rows) as reported completed, keeping an earlier mark.
    The counts of a known campaign stay as the sync stored them (the sync compares with them)."""
    now = utcnow()
    _upsert(db, ({**row, "synced_at": now, "completed_seen_at": now} for row in rows), ("completed_seen_at",))


def remember_campaign_requirement(db: Database, campaign_id: str, requirement: str) -> None:
    """Cache the proof requirement a campaign was created with (listings may not include it)."""
    _upsert(db, [{"campaign_id": campaign_id, "proof_required_description": requirement}], ("proof_required_description",))


def campaign_requirement(db: Database, campaign_id: str) -> str | None:
    """The campaign's cached proof_required_description, if known."""
    found = db.execute("SELECT proof_required_description FROM campaigns WHERE campaign_id = ?", [campaign_id]).fetchone()
    return found[0] if found else None


def forget_campaign_counts(db: Database, campaign_id: str) -> None:
    """Make the next sync read this campaign's submissions again."""
    with write(db):
        db.execute("DELETE FROM campaigns WHERE campaign_id = ?", [campaign_id])


def remember_campaign_keys(db: Database, keys: dict[str, str]) -> None:
    """key -> campaign id of long ids shown in buttons and options (a key always names one id)."""
    with write(db):
        for key, campaign_id in keys.items():
            db.execute("INSERT INTO campaign_keys (key, campaign_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", [key, campaign_id])


def campaign_of_key(db: Database, key: str) -> str | None:
    found = db.execute("SELECT campaign_id FROM campaign_keys WHERE key = ?", [key]).fetchone()
    return found[0] if found else None
