"""`gigdesk migrate-db --to postgresql://…`: copy a SQLite install into an empty PostgreSQL database.

The target gets the same numbered schema (the migrations, translated), then every table's rows
in one transaction, then its identity sequences past the copied ids; the row counts of every
table are compared before the transaction commits. A target that holds any row already is
refused before anything is written, so a copy never merges into (or overwrites) live data.
A failed copy rolls back its rows: the empty schema it leaves may be copied into again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

import psycopg

from storage.db import Store, is_postgresql

BATCH = 5_000


class MigrateError(Exception):
    """A copy that was refused or did not match; the message says what to do."""


def _tables(source: sqlite3.Connection) -> list[str]:
    return [r[0] for r in source.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
        " ORDER BY name")]


def _target_rows(url: str) -> dict[str, int]:
    """Rows per table already in the target's public schema (schema_migrations aside)."""
    with psycopg.connect(url, autocommit=True) as pg:
        names = [r[0] for r in pg.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename != 'schema_migrations'")]
        return {name: int(pg.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names}  # type: ignore[index]


def copy_to_postgresql(sqlite_path: str, url: str, say: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every table of the SQLite database at `sqlite_path` into the empty PostgreSQL
    database at `url`; return rows per table (checked equal on both sides)."""
    if not is_postgresql(url):
        raise MigrateError("--to must be a PostgreSQL URL like postgresql://user:password@host/gigdesk")
    if not os.path.exists(sqlite_path):
        raise MigrateError(f"there is no SQLite database at {sqlite_path}: set GIGDESK_DB to the file to copy")
    busy = {name: n for name, n in _target_rows(url).items() if n}
    if busy:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(busy.items())[:5])
        raise MigrateError(f"the target database is not empty ({listed}): migrate-db copies only into an empty database")
    Store(sqlite_path).close()  # the source at the latest schema, as the target will be
    target = Store("", url=url)
    target.close()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        counts = _copy(source, url, say)
    finally:
        source.close()
    return counts


def _copy(source: sqlite3.Connection, url: str, say: Callable[[str], None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with psycopg.connect(url) as pg, pg.transaction():
        for table in _tables(source):
            cursor = source.execute(f'SELECT * FROM "{table}"')
            columns = ", ".join(f'"{c[0]}"' for c in cursor.description)
            with pg.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                while rows := cursor.fetchmany(BATCH):
                    for row in rows:
                        copy.write_row(row)
            expected = int(source.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            copied = int(pg.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]
            if copied != expected:
                raise MigrateError(f"table {table}: {copied} rows copied of {expected}; nothing was kept")
            counts[table] = copied
            say(f"{table}: {copied} rows")
        # Identity columns continue after the copied ids (audit, digests, proof_images).
        for table, column in pg.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
            pg.execute(f'SELECT setval(pg_get_serial_sequence(%s, %s), coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)',
                       [table, column])
    return counts
