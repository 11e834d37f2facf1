"""A connection never costs another connection of the same process its locks on the database.

On POSIX, closing any descriptor of a file drops all the process's fcntl locks on it; SQLite's
documented "how to corrupt your database" case. Opening the database file beside SQLite (to set
its mode) did that: another process closing its own connection then found no one using the
database and check-pointed and deleted the WAL under `gigdesk serve` (disk I/O errors, decisions
lost). Not unit tier: the other process is a real one.
"""

from __future__ import annotations

import os
import subprocess
import sys

from storage.db import connect, write

OTHER_PROCESS = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM t').fetchone(); c.close()"


def test_a_second_connection_keeps_the_first_ones_locks_so_no_other_process_removes_the_wal(tmp_path):
    path = str(tmp_path / "gigdesk.db")
    first = connect(path)
    with write(first):
        first.execute("CREATE TABLE t (x TEXT)")
        first.execute("INSERT INTO t VALUES ('kept')")
    second = connect(path)  # another thread's connection, as every serve thread makes one
    subprocess.run([sys.executable, "-c", OTHER_PROCESS, path], check=True, timeout=30)
    # Had this process lost its locks, the other one, closing last, would have deleted the WAL.
    assert os.path.exists(path + "-wal")
    assert second.execute("SELECT x FROM t").fetchall() == [("kept",)]
    first.close()
    second.close()
