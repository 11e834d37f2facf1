"""Small named values (the `kv` table): alert states and the like."""

from __future__ import annotations

from storage.db import Database, write


def kv_get(db: Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchone()
    return default if row is None else row[0]


def kv_set(db: Database, key: str, value: str | None) -> None:
    with write(db):
        db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def kv_change(db: Database, key: str, value: str) -> bool:
    """Set `key` to `value` unless it holds it already; True only for the one caller that changed
    it (the read and the set are one write transaction: two callers cannot both change it)."""
    with write(db):
        if kv_get(db, key) == value:
            return False
        kv_set(db, key, value)
        return True
