"""Jobs (campaigns) gigdesk created, with their cost (the `jobs_created` table)."""

from __future__ import annotations

from storage.db import Database, all_rows, utcnow, write


def record_job(db: Database, job_id: str, confirmation_id: str | None, kind: str, title: str | None, cost: str | None, created_by: str | None) -> None:
    with write(db):
        db.execute(
            "INSERT INTO jobs_created (job_id, confirmation_id, kind, title, cost, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [job_id, confirmation_id, kind, title, cost, created_by, utcnow()],
        )


def jobs_since(db: Database, since: str) -> list[dict]:
    return all_rows(db.execute("SELECT * FROM jobs_created WHERE created_at >= ? ORDER BY created_at", [since]))
