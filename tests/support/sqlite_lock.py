"""Line concurrent writers up at SQLite's write lock, to make a race deterministic.

The test holds the database's write lock from a connection of its own
(BEGIN IMMEDIATE); every writer of the bot then waits at its own BEGIN
IMMEDIATE (the busy timeout), having done whatever it does before its write
transaction. Once the expected number of threads wait there, the test lets go
and they take the lock one after the other. Nothing of the bot is replaced:
the threads are only looked at (their innermost Python frame).
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def write_lock_held(db_path: str, url: str | None = None) -> Iterator[None]:
    """Hold the database's write lock until the block ends (then roll back: nothing written).
    With a PostgreSQL `url`: the advisory lock every write transaction takes (storage/postgres.py)."""
    if url:
        import psycopg

        from storage.postgres import WRITE_LOCK

        with psycopg.connect(url) as pg:  # a transaction, rolled back at the end (nothing written)
            pg.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            yield
            pg.rollback()
        return
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        conn.close()


def sessions_waiting_to_write(url: str) -> int:
    """PostgreSQL: the sessions of this database waiting for the write lock (pg_locks)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        return int(pg.execute("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                              " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()").fetchone()[0])


def threads_waiting_to_write(on_behalf_of: object | None = None) -> int:
    """Threads of this process inside a BEGIN IMMEDIATE (sqlite-utils' Database.execute):
    while write_lock_held() holds the lock, each of them is waiting for it.

    `on_behalf_of`: count only threads with that object's method on their stack (e.g. one
    bot's CommandService), so another bot's threads in the same process are not counted."""
    waiting = 0
    for frame in sys._current_frames().values():
        code = frame.f_code
        if code.co_name != "execute" or "sqlite_utils" not in code.co_filename:
            continue
        sql = frame.f_locals.get("sql")
        if not (isinstance(sql, str) and sql.strip().upper() == "BEGIN IMMEDIATE"):
            continue
        if on_behalf_of is None or _on_stack(frame, on_behalf_of):
            waiting += 1
    return waiting


def _on_stack(frame, owner: object) -> bool:
    while frame is not None:
        if frame.f_locals.get("self") is owner:
            return True
        frame = frame.f_back
    return False
