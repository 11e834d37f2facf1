"""Opening the database: WAL, busy timeout, one connection per thread, migrations."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlite_utils

from storage.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000
OWNER_ONLY = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


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
        db.enable_wal()
    if on_disk:
        _tighten(path)  # the -wal and -shm files now exist
    db.execute("PRAGMA foreign_keys = ON")
    return db


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A write transaction taken with BEGIN IMMEDIATE; nested blocks use savepoints.

    db.atomic() begins DEFERRED; under WAL a transaction that reads and then
    writes can then fail with SQLITE_BUSY at once, whatever the busy timeout.
    Taking the write lock up front makes concurrent writers wait instead.
    Inside an open transaction a block becomes a SAVEPOINT (as db.atomic()
    nests): a failure rolls back to it and re-raises; the outermost commits once.
    """
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


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the numbered migrations not yet applied; return the schema version."""
    with write(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, name, statements in MIGRATIONS:
            if version in done:
                continue
            for statement in statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [version, name, utcnow()],
            )
        return max([v for v, _, _ in MIGRATIONS] + list(done))


class Store:
    """The database file; each thread gets its own connection."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        # A new install: the file had no schema before this process opened it.
        self.fresh = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone() is None
        self.schema_version = migrate(self.db)

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path)
        return db

    def write(self):
        """Shorthand for storage.db.write(store.db)."""
        return write(self.db)
