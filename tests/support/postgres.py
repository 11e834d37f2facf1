"""A real PostgreSQL server for the tests: Debian's package, started in a temporary directory.

`make test` (and so CI) installs the `postgresql` package when it is missing (root with apt).
The server refuses to run as root, so as root `initdb` and `pg_ctl` run as the `postgres` user.
It listens on 127.0.0.1 only, on a free port, with a socket directory of its own; trust
authentication is safe there (loopback, a throw-away cluster). One server per test process;
each test gets its own empty database (`PostgresServer.new_database`).

Without PostgreSQL the tests that need it are skipped with a loud reason; under CI=true they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SKIP_REASON = ("PostgreSQL is not installed (Debian: apt-get install postgresql; `make test` does it as root): "
               "the PostgreSQL tests are SKIPPED")


def find_bindir() -> Path | None:
    """The directory of initdb/pg_ctl/postgres: pg_config's, else the newest /usr/lib/postgresql/N/bin."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl start in a temporary directory; stop() removes it."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gigdesk-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self._run_as: str | None = None
        if os.geteuid() == 0:
            # The server refuses root: the cluster belongs to the `postgres` user the package creates.
            self._run_as = "postgres"
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.sockets.mkdir()
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            os.chown(self.sockets, entry.pw_uid, entry.pw_gid)

    def _cmd(self, *args: str) -> list[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self._run_as, "--", *command] if self._run_as else command

    def start(self, *, durable: bool = False) -> PostgresServer:
        """`durable`: PostgreSQL's own defaults (fsync, synchronous commit), as a benchmark compares."""
        subprocess.run(self._cmd("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                 "--no-sync"),
                       check=True, capture_output=True)
        # A throw-away cluster: durability settings off for speed (the tests kill processes, not the server).
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
                                 "-w", "-t", "60", "start"),
                       check=True, capture_output=True)
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = "gigdesk_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_server(*, durable: bool = False) -> PostgresServer | None:
    """A started server, or None when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        return None
    return PostgresServer(bindir).start(durable=durable)


def unavailable(reason: str = SKIP_REASON) -> None:
    """Skip loudly, or fail under CI=true (CI must run every backend)."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason.replace("SKIPPED", "required under CI=true"), pytrace=False)
    pytest.skip(reason)


def url_env(url: str | None) -> dict[str, str]:
    """The setting that points a bot process at `url` (nothing for SQLite)."""
    return {"GIGDESK_DATABASE_URL": url} if url else {}


def open_database(db_path: str, url: str | None):
    """What a test reads a bot's database with, on either backend (storage.db.Store's connection)."""
    from storage.db import Store

    return Store(db_path, url=url).db
