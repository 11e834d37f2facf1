"""Opening the database and the dialect: SQLite (a file: WAL, busy timeout, one connection per
thread) or PostgreSQL (GIGDESK_DATABASE_URL: a pool, storage/postgres.py); transactions that nest;
the numbered migrations, run under a lock on both."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
import sqlite_utils

from storage.migrations import MIGRATIONS
from storage.postgres import MIGRATION_LOCK, PgDatabase, translate_ddl

BUSY_TIMEOUT_MS = 30_000
OWNER_ONLY = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


class Database(Protocol):
    """What the storage functions take: one backend's connection (`execute` returns a cursor-like
    object with fetchone, fetchall, rowcount, description, and iteration)."""

    def execute(self, sql: str, parameters: Any = None) -> Any: ...


def first_row(cursor: Any) -> dict | None:
    """The cursor's next row as a dict of column name -> value (None when there is none)."""
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def all_rows(cursor: Any) -> list[dict]:
    """Every remaining row of the cursor as a dict of column name -> value."""
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def utcnow() -> str:
    """Timestamps are stored as ISO 8601 UTC text, sortable as strings."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _create_owner_only(path: str) -> None:
    """Create a missing database file 0600 (whatever the umask) before SQLite opens it: SQLite
    gives its -wal and -shm files the database file's mode.

    Only a file created here (O_EXCL) is opened: no connection of this process can hold a lock
    on it yet, so closing this descriptor drops none. Closing *any* descriptor of a file drops
    *all* the process's POSIX locks on it, so the file SQLite already uses is never opened
    beside it (that let another process check-point or delete the WAL under a live
    connection: "disk I/O error", "file is not a database")."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, OWNER_ONLY)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, OWNER_ONLY)  # the umask may have taken bits off
    finally:
        os.close(fd)


def _tighten(path: str) -> None:
    """Make existing database files owner-only, by path (no descriptor: see _create_owner_only)."""
    for name in (path, *(path + suffix for suffix in SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError, PermissionError):  # someone else's file: leave its mode alone
            if os.stat(name).st_mode & 0o777 != OWNER_ONLY:
                os.chmod(name, OWNER_ONLY)


def connect(path: str) -> sqlite_utils.Database:
    """A new connection with WAL and a generous busy timeout; the files owner-only."""
    on_disk = path not in ("", ":memory:") and not path.startswith("file:")
    if on_disk:
        _create_owner_only(path)
        _tighten(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path != ":memory:":
        _enable_wal(db)
    if on_disk:
        _tighten(path)  # the -wal and -shm files now exist
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _enable_wal(db: sqlite_utils.Database) -> None:
    """Switch to WAL, retried within the busy timeout: on a new file the switch needs an exclusive
    lock, and SQLite answers "database is locked" at once (its busy handler is not asked) while
    another process opening the same new file holds a shared lock (serve and poll starting together)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """A write transaction taken with BEGIN IMMEDIATE; nested blocks use savepoints.

    db.atomic() begins DEFERRED; under WAL a transaction that reads and then
    writes can then fail with SQLITE_BUSY at once, whatever the busy timeout.
    Taking the write lock up front makes concurrent writers wait instead.
    Inside an open transaction a block becomes a SAVEPOINT (as db.atomic()
    nests): a failure rolls back to it and re-raises; the outermost commits once.
    On PostgreSQL the transaction holds an advisory lock that every write takes (the same
    one-writer-at-a-time guarantee; storage/postgres.py), and nests the same way.
    """
    if isinstance(db, PgDatabase):
        with db.transaction():
            yield db
        return
    assert isinstance(db, sqlite_utils.Database)
    if db.conn.in_transaction:
        yield from _savepoint(db)
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        db.commit()


def _savepoint(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """The nested part of write(): release on success, roll back to it on failure."""
    name = f"gigdesk_{secrets.token_hex(8)}"
    db.execute(f"SAVEPOINT {name}")
    try:
        yield db
    except BaseException:
        # An error that already ended the whole transaction leaves no savepoint to undo.
        if db.conn.in_transaction:
            db.execute(f"ROLLBACK TO SAVEPOINT {name}")
            db.execute(f"RELEASE SAVEPOINT {name}")
        raise
    else:
        db.execute(f"RELEASE SAVEPOINT {name}")


def is_postgresql(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql://", "postgres://"))


def _migration_transaction(db: Database) -> contextlib.AbstractContextManager[Database]:
    """SQLite: BEGIN IMMEDIATE (one writer). PostgreSQL: a transaction holding the migration
    lock, so two replicas starting at once migrate one after the other."""
    if isinstance(db, PgDatabase):
        return db.transaction(lock=MIGRATION_LOCK)
    return write(db)


def migrate(db: Database) -> int:
    """Apply the numbered migrations not yet applied; return the schema version."""
    dialect = translate_ddl if isinstance(db, PgDatabase) else str
    with _migration_transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, name, statements in MIGRATIONS:
            if version in done:
                continue
            for statement in statements:
                db.execute(dialect(statement))
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [version, name, utcnow()],
            )
        return max([v for v, _, _ in MIGRATIONS] + list(done))


def has_table(db: Database, name: str) -> bool:
    if isinstance(db, PgDatabase):
        found = db.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchone()
        return bool(found and found[0])
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


class Store:
    """The database: a SQLite file (each thread gets its own connection) or, with a
    postgresql:// `url`, a PostgreSQL database (one pool for the process)."""

    def __init__(self, path: str, url: str | None = None):
        self.path = path
        self._local = threading.local()
        self._pg = PgDatabase(str(url)) if is_postgresql(url) else None
        # A new install: the database had no schema before this process opened it.
        self.fresh = not has_table(self.db, "schema_migrations")
        self.schema_version = migrate(self.db)

    @property
    def db(self) -> Database:
        if self._pg is not None:
            return self._pg
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path)
        return db

    def close(self) -> None:
        """Close the pool (PostgreSQL) or this thread's connection (SQLite)."""
        if self._pg is not None:
            self._pg.close()
        elif getattr(self._local, "db", None) is not None:
            self._local.db.close()
            self._local.db = None

    def write(self) -> contextlib.AbstractContextManager[Database]:
        """Shorthand for storage.db.write(store.db)."""
        return write(self.db)


def reach(path: str, url: str | None, timeout: float = 5.0) -> tuple[str, int | None]:
    """Without writing anything (`gigdesk check`): the backend a configuration selects, and the
    schema version its database answers with (None: not created or not migrated yet). Raises
    when the database cannot be reached or read."""
    if is_postgresql(url):
        with psycopg.connect(str(url), connect_timeout=max(1, int(timeout)), autocommit=True) as pg:
            return "postgresql", _schema_version(pg.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone(), pg)
    if not os.path.exists(path):
        return "sqlite", None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
        return "sqlite", _schema_version(found, conn)
    finally:
        conn.close()


def _schema_version(table_found: Any, conn: Any) -> int | None:
    if not table_found or not table_found[0]:
        return None
    return int(conn.execute("SELECT coalesce(MAX(version), 0) FROM schema_migrations").fetchone()[0])


def backend_name(store: Store) -> str:
    """'postgresql' or 'sqlite' (for `gigdesk check` and /readyz)."""
    return "postgresql" if isinstance(store.db, PgDatabase) else "sqlite"


def ping(store: Store) -> int:
    """The schema version the database answers with; raises when it cannot be reached or read."""
    row = store.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)
