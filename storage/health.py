"""Is the database there and answering (for GET /readyz)."""

from __future__ import annotations

from storage.db import Database


def ping(db: Database) -> int:
    """The schema version the database answers with; raises when it cannot be read."""
    row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)
