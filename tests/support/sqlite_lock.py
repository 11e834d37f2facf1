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
import functools
import inspect
import os
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
    """Threads of this process inside the BEGIN IMMEDIATE of storage.db.write: while
    write_lock_held() holds the lock, each of them is waiting for it.

    `on_behalf_of`: count only threads running a method of that object's class (e.g. the /rw
    feature), so another feature's threads are not counted. Read from the frames' code and line
    numbers only: reading another thread's f_locals while it waits in SQLite could hang this one."""
    begin = _begin_immediate_line()
    owner_codes = _method_codes(type(on_behalf_of)) if on_behalf_of is not None else None
    waiting = 0
    for frame in sys._current_frames().values():
        code = frame.f_code
        if code.co_name != "execute" or "sqlite_utils" not in code.co_filename:
            continue
        caller = frame.f_back
        if caller is None or not caller.f_code.co_filename.endswith(os.path.join("storage", "db.py")) or caller.f_lineno != begin:
            continue
        if owner_codes is None or _runs_any(frame, owner_codes):
            waiting += 1
    return waiting


@functools.cache
def _begin_immediate_line() -> int:
    """The line of storage/db.py that executes BEGIN IMMEDIATE."""
    import storage.db

    lines = inspect.getsource(storage.db).splitlines()
    return next(n for n, line in enumerate(lines, 1) if 'execute("BEGIN IMMEDIATE")' in line)


def _method_codes(cls: type) -> set:
    return {f.__code__ for klass in cls.__mro__ for f in vars(klass).values() if inspect.isfunction(f)}


def _runs_any(frame, codes: set) -> bool:
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


