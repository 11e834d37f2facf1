"""`gigdesk backup PATH`: a consistent copy of the SQLite database while `serve` writes to it.

SQLite's online backup API copies page by page and starts over by itself when another
connection writes meanwhile, so the copy is one moment's database. The copy is written beside
PATH first and renamed into place, owner-only like the database itself.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

PAGES_PER_STEP = 1024  # between steps other connections may write (serve is not held up for long)


def backup_sqlite(db_path: str, destination: str) -> int:
    """Copy the database at db_path to destination (which must not exist); its size in bytes."""
    dest = Path(destination)
    partial = dest.with_name(dest.name + ".partial")
    source = sqlite3.connect(db_path, timeout=30)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=PAGES_PER_STEP)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            copy.commit()
        finally:
            copy.close()
        os.link(partial, dest)  # fails if dest appeared meanwhile: never overwrite
    finally:
        source.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return dest.stat().st_size


def integrity(path: str) -> str:
    """SQLite's own check of a database file ("ok" when sound)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
