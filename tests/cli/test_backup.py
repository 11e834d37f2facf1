"""`gigdesk backup PATH` while `serve` runs, restored: `gigdesk poll` accepts the copy; `gigdesk --version`."""

from __future__ import annotations

import os
import stat

from storage import submissions as subs
from storage.backup import integrity
from storage.db import connect
from tests.e2e.test_processes import review_ids
from tests.support.harness import BotProcess, bot_env, free_port, wait_for


def test_a_backup_taken_while_serve_runs_restores_to_a_database_poll_accepts(sandbox, slack, tmp_path):
    cid = sandbox.add_campaign("Backed up", pay="0.50")
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(6)]
    db_path = str(tmp_path / "gigdesk.db")
    env = bot_env(slack, sandbox, db_path, PORT=str(free_port()), GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off")
    serve = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    copy = tmp_path / "copy.db"
    try:
        db = connect(db_path)
        wait_for(lambda: all((r := subs.get(db, sid)) and r.state == "posted" for sid in sids), timeout=30)
        more = [sandbox.add_submission(cid, proof_text=f"later {n}") for n in range(3)]
        wait_for(lambda: all((r := subs.get(db, sid)) and r.state == "posted" for sid in more), timeout=30)
        # Serve keeps writing while the copy is taken (its sync every second: lease, claims' heartbeat).
        taken = BotProcess(env, "backup", str(copy), workdir=tmp_path)
        assert taken.wait(60) == 0, taken.output()
        assert "integrity ok" in taken.output()[0]
        again = BotProcess(env, "backup", str(copy), workdir=tmp_path)  # never overwrites
        assert again.wait(60) == 1 and "already exists" in again.output()[1]
    finally:
        serve.stop()
    assert integrity(str(copy)) == "ok"
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert not (tmp_path / "copy.db.partial").exists()
    # Restored: `gigdesk poll` on the copy knows everything posted before the backup and posts nothing twice.
    restored = BotProcess({**env, "GIGDESK_DB": str(copy)}, "poll", workdir=tmp_path)
    assert restored.wait(60) == 0, restored.output()
    posted = review_ids(slack)
    assert sorted(posted) == sorted(sids + more) and set(posted.values()) == {1}, posted
    copy_db = connect(str(copy))
    assert all(subs.get(copy_db, sid).state == "posted" for sid in sids + more)
    assert "Traceback" not in restored.output()[1] + serve.output()[1]


def test_backup_without_a_database_and_version(tmp_path):
    missing = BotProcess({"GIGDESK_DB": str(tmp_path / "none.db")}, "backup", str(tmp_path / "b.db"), workdir=tmp_path)
    assert missing.wait(30) == 1 and "there is no database at" in missing.output()[1]
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "b.db").exists()
    version = BotProcess({}, "--version", workdir=tmp_path)
    assert version.wait(30) == 0 and version.output()[0].startswith("gigdesk 0.")
