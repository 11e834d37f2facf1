"""`gigdesk migrate-db --to postgresql://…`: a SQLite install copied into an empty PostgreSQL
database, row counts checked; a non-empty target refused; the URL never printed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from storage import audit, digests, forensics, offers, submissions
from storage.db import Store
from tests.support import postgres
from tests.support.harness import REPO, free_port


@pytest.fixture
def target(postgres_server) -> str:
    if postgres_server is None:
        postgres.unavailable()
    return postgres_server.new_database()


def migrate_db(db_path: str, url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIGDESK_", "SLACK_", "RAPIDWORKERS_"))}
    env.update(GIGDESK_DB=db_path, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "bot.cli", "migrate-db", "--to", url], env=env, cwd=os.path.dirname(db_path),
                          capture_output=True, text=True, timeout=120)


def an_install(db_path: str) -> Store:
    store = Store(db_path)
    db = store.db
    for sid in (1, 2, 3):
        assert submissions.claim(db, sid, "c1", "W1", {"pay": "0.50", "worker_name": "Ann"})
        submissions.mark_posted(db, sid, "C", f"1.{sid}")
    submissions.finish_decision(db, 1, "approved", decided_by="U1", amount_paid="0.50")
    for n in range(4):
        audit.audit(db, "U1", "approve", str(n), "ok")
    assert digests.claim(db, "scheduled", "2026-01-02", "C")
    offers.create_confirmation(db, "offer-1", "U1", "prefilled", {"title": "T"}, "5.00", "2999-01-01")
    assert forensics.save_check(db, 2, worker_id="W1", submitted_at="2026", text_fingerprint=None,
                                images=[{"image_no": 1, "phash": -(2**62), "dhash": 7}], flags=[])
    return store


def test_an_install_is_copied_with_matching_counts_and_keeps_working(tmp_path, target):
    db_path = str(tmp_path / "gigdesk.db")
    source = an_install(db_path)
    done = migrate_db(db_path, target)
    assert done.returncode == 0, done.stderr
    assert "row counts match" in done.stdout and "submissions: 3 rows" in done.stdout and "audit: 4 rows" in done.stdout
    copied = Store("", url=target)
    try:
        for table in ("submissions", "audit", "digests", "confirmations", "proof_images", "proof_checks"):
            query = f"SELECT count(*) FROM {table}"
            assert copied.db.execute(query).fetchone()[0] == source.db.execute(query).fetchone()[0], table
        assert submissions.get(copied.db, 1).amount_paid == "0.50"
        assert offers.get_confirmation(copied.db, "offer-1").params == {"title": "T"}
        assert forensics.hashes_since(copied.db, 0)[0][1] == -(2**62)
        audit.audit(copied.db, "U2", "reject", "9", "ok")  # ids continue after the copied ones
        assert [e.id for e in audit.audit_since(copied.db, "2000")] == [1, 2, 3, 4, 5]
        assert digests.claim(copied.db, "scheduled", "2026-01-02", "C") is None  # the day's digest came along
    finally:
        copied.close()


def test_a_target_with_rows_is_refused_and_left_as_it_was(tmp_path, target):
    db_path = str(tmp_path / "gigdesk.db")
    an_install(db_path)
    assert migrate_db(db_path, target).returncode == 0
    submissions.claim(Store(db_path).db, 4, "c1", "W1", {})
    again = migrate_db(db_path, target)
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr
    copied = Store("", url=target)
    assert copied.db.execute("SELECT count(*) FROM submissions").fetchone()[0] == 3
    copied.close()


def test_an_unreachable_target_fails_in_words_without_the_url(tmp_path):
    db_path = str(tmp_path / "gigdesk.db")
    an_install(db_path)
    failed = migrate_db(db_path, f"postgresql://gigdesk:s3cret-pw@127.0.0.1:{free_port()}/gigdesk")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "s3cret" not in failed.stderr + failed.stdout and "the copy failed (OperationalError)" in failed.stderr
