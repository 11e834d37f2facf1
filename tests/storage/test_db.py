"""storage.db.write(): BEGIN IMMEDIATE outermost, SAVEPOINT when nested, writers wait."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading

import pytest

from storage.db import connect, write

pytestmark = pytest.mark.unit  # the fast tier: `make test` runs it first


class Boom(Exception):
    pass


@pytest.fixture
def path(tmp_path):
    path = str(tmp_path / "t.db")
    db = connect(path)
    with write(db):
        db.execute("CREATE TABLE t (x TEXT)")
    db.close()
    return path


def rows(path) -> list[str]:
    """What another connection sees: committed rows only."""
    other = connect(path)
    try:
        return sorted(x for (x,) in other.execute("SELECT x FROM t").fetchall())
    finally:
        other.close()


def test_nested_blocks_commit_once_when_the_outermost_ends(path):
    db = connect(path)
    with write(db):
        db.execute("INSERT INTO t VALUES ('outer')")
        with write(db):
            db.execute("INSERT INTO t VALUES ('inner')")
        assert db.conn.in_transaction
        assert rows(path) == []  # the inner block's end committed nothing
    assert not db.conn.in_transaction
    assert rows(path) == ["inner", "outer"]


def test_a_failed_inner_block_rolls_back_only_itself_and_reraises(path):
    db = connect(path)
    with write(db):
        db.execute("INSERT INTO t VALUES ('before')")
        with pytest.raises(Boom):
            with write(db):
                db.execute("INSERT INTO t VALUES ('inner')")
                raise Boom
        db.execute("INSERT INTO t VALUES ('after')")
    assert rows(path) == ["after", "before"]


def test_a_failed_outer_block_rolls_back_everything_nested_in_it(path):
    db = connect(path)
    with pytest.raises(Boom):
        with write(db):
            db.execute("INSERT INTO t VALUES ('outer')")
            with write(db):
                db.execute("INSERT INTO t VALUES ('inner')")
            raise Boom
    assert not db.conn.in_transaction
    assert rows(path) == []


def test_a_second_writer_waits_for_the_first_instead_of_failing(path):
    first, second = connect(path), connect(path)
    second_is_beginning = threading.Event()
    errors: list[BaseException] = []

    def on_statement(sql: str) -> None:
        if sql.startswith("BEGIN IMMEDIATE"):
            second_is_beginning.set()

    second.conn.set_trace_callback(on_statement)

    def second_writer() -> None:
        try:
            with write(second):
                second.execute("INSERT INTO t VALUES ('second')")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with write(first):
        first.execute("INSERT INTO t VALUES ('first')")
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert second_is_beginning.wait(30)  # the second writer now meets our lock
    thread.join(60)
    assert not thread.is_alive()
    assert errors == []
    assert rows(path) == ["first", "second"]


# --- owner-only files, set without a second descriptor of the database ------------------------


def modes(tmp_path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.name.startswith("t.db")}


def test_an_existing_0644_database_and_its_side_files_are_tightened_to_0600(tmp_path):
    path = str(tmp_path / "t.db")
    with sqlite3.connect(path) as plain:  # made by something else, world-readable
        plain.execute("PRAGMA journal_mode = WAL")
        plain.execute("CREATE TABLE t (x TEXT)")
        held = sqlite3.connect(path)  # keeps -wal and -shm in place
        held.execute("SELECT * FROM t").fetchall()
    for name in modes(tmp_path):
        os.chmod(tmp_path / name, 0o644)
    assert set(modes(tmp_path)) == {"t.db", "t.db-wal", "t.db-shm"}
    db = connect(path)
    db.execute("INSERT INTO t VALUES ('x')")
    assert modes(tmp_path) == {"t.db": 0o600, "t.db-wal": 0o600, "t.db-shm": 0o600}
    held.close()


def test_a_new_database_is_0600_even_with_umask_000(tmp_path):
    old = os.umask(0)
    try:
        db = connect(str(tmp_path / "t.db"))
        with write(db):
            db.execute("CREATE TABLE t (x TEXT)")
    finally:
        os.umask(old)
    assert modes(tmp_path) == {"t.db": 0o600, "t.db-wal": 0o600, "t.db-shm": 0o600}


def test_connections_opening_the_same_new_file_at_once_all_get_wal(tmp_path):
    """Switching a new file to WAL needs an exclusive lock, and SQLite refuses it at once ("database
    is locked", no busy wait) while another connection opening it holds a shared one: serve and poll
    starting together on a fresh install. Thirty new files, four connections each, at once."""
    errors: list[BaseException] = []
    for n in range(30):
        path = str(tmp_path / f"fresh-{n}.db")
        start = threading.Barrier(4)

        def open_it(path: str = path, start: threading.Barrier = start) -> None:
            try:
                start.wait(timeout=10)
                db = connect(path)
                assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                db.conn.close()
            except BaseException as e:  # reported below, in the test's thread
                errors.append(e)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
