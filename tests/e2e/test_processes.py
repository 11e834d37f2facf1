"""Processes beside `gigdesk serve` on one SQLite file: CLI runs while it syncs and takes clicks,
and two `serve` processes started together.

Real subprocesses (`python -m bot.cli …`, as `gigdesk …` runs), the Slack stand-in and the
RapidWorkers simulator in this process, signed clicks over real HTTP.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.leases import LEASE_SECONDS, Owner, this_process
from bot.slack import ids
from storage import submissions as subs
from storage.db import connect
from tests.support.harness import BotProcess, bot_env, free_port, wait_for
from tests.support.slack_requests import SlackPoster

BAD_SIGNS = ("database is locked", "disk I/O error", "Traceback")


def review_ids(slack) -> Counter:
    """How many review messages each submission has (cards and batch rows)."""
    seen: Counter = Counter()
    for m in slack.messages("C_REVIEW", include_replies=False):
        meta = m.metadata or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == ids.SUBMISSION_EVENT:
            seen[payload["submission_id"]] += 1
        elif meta.get("event_type") == ids.SUBMISSION_BATCH_EVENT:
            seen.update(payload["submission_ids"])
    return seen


def assert_clean(*processes: BotProcess) -> None:
    for proc in processes:
        out, err = proc.output()
        for sign in BAD_SIGNS:
            assert sign not in out + err, f"gigdesk {' '.join(proc.args)}: {sign!r} in\n{err[-3000:]}"


def integrity(db_path: str) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_cli_runs_beside_a_busy_serve_never_break_it(sandbox, slack, tmp_path):
    cid = sandbox.add_campaign("Beside serve", pay="0.50")
    first = [sandbox.add_submission(cid, proof_text=f"first {n}") for n in range(10)]
    db_path = str(tmp_path / "gigdesk.db")
    env = bot_env(slack, sandbox, db_path, PORT=str(free_port()), GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off")
    serve = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    clis: list[BotProcess] = []
    try:
        db = connect(db_path)
        wait_for(lambda: all((r := subs.get(db, sid)) and r.state == "posted" for sid in first), timeout=30)
        poster = SlackPoster(serve.url + "/slack/events", standin=slack)
        later = []

        def cli_rounds():
            for n in range(6):
                later.append(sandbox.add_submission(cid, proof_text=f"later {n}"))  # serve and poll both see new work
                batch = [BotProcess(env, "poll", workdir=tmp_path), BotProcess(env, "digest", "--dry-run", workdir=tmp_path)]
                clis.extend(batch)
                for proc in batch:
                    proc.wait(60)

        rounds = threading.Thread(target=cli_rounds)
        rounds.start()
        for sid in first:  # 20 Approve clicks: each card clicked twice (a double click)
            ts = subs.get(db, sid).ts
            for _ in range(2):
                assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=ts).status_code == 200
        rounds.join()
        wait_for(lambda: all(subs.get(db, sid).state == "approved" for sid in first), timeout=30)
        wait_for(lambda: set(review_ids(slack)) >= set(first + later), timeout=30)
    finally:
        serve.stop()
    assert_clean(serve, *clis)
    assert all(sandbox.count(path_contains=f"/submissions/{sid}/approve") == 1 for sid in first)
    assert all(sandbox.submission(sid)["status"] == "Approved" for sid in first)
    posted = review_ids(slack)
    assert sorted(posted) == sorted(first + later) and set(posted.values()) == {1}, posted
    assert integrity(db_path) == "ok"


def test_two_serve_processes_started_together_post_each_submission_once(sandbox, slack, tmp_path):
    cid = sandbox.add_campaign("Two at once", pay="0.50")
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(30)]
    db_path = str(tmp_path / "gigdesk.db")
    env = bot_env(slack, sandbox, db_path, GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off", GIGDESK_BATCH_ABOVE="100")
    # One post reaches Slack only 8 s late: its claim waits unrecorded meanwhile, while the other
    # process syncs every second (today's trial: 2 of 30 posted twice without help).
    slack.hold("chat.postMessage", 8, after_store=False, skip=5)
    serves = [BotProcess({**env, "PORT": str(free_port())}, "serve", workdir=tmp_path) for _ in range(2)]
    try:
        for proc in serves:
            proc.wait_healthy()
        wait_for(lambda: slack.holding("chat.postMessage") == 1, timeout=30)
        poll = BotProcess(env, "poll", workdir=tmp_path)  # gigdesk poll beside them is the same case
        assert poll.wait(60) == 0
        assert any(f"another review sync is running (gigdesk pid {proc.pid} on " in poll.output()[0] for proc in serves), poll.output()
        wait_for(lambda: set(review_ids(slack)) >= set(sids), timeout=60)
        # Three more syncs have run since every card was posted (whichever process held the lease
        # each time; one that finds it held does nothing): a late second post would show now.
        def syncs() -> int:
            return sum(proc.output()[1].count("review sync: campaigns checked") for proc in serves)

        before = syncs()
        wait_for(lambda: syncs() >= before + 3, timeout=30)
    finally:
        for proc in serves:
            proc.stop()
    assert_clean(poll, *serves)
    posted = review_ids(slack)
    assert sorted(posted) == sids and set(posted.values()) == {1}, posted
    assert integrity(db_path) == "ok"


def test_recovery_takes_over_only_claims_whose_owner_is_gone_or_silent(make_gigdesk, sandbox, slack):
    gigdesk = make_gigdesk(GIGDESK_FORENSICS="off")
    db, me = gigdesk.services.store.db, this_process()
    cid = sandbox.add_campaign("Claims", pay="0.50")
    live, dead, silent = (sandbox.add_submission(cid) for _ in range(3))
    posting_now = Owner(me.host, os.getppid(), "busy").id  # a live process of this host, mid-post
    frozen = Owner(me.host, os.getppid(), "frozen").id  # alive, but no heartbeat for longer than a lease
    for sid, owner in ((live, posting_now), (dead, Owner(me.host, 2**22 + 11, "crashed").id), (silent, frozen)):
        assert subs.claim(db, sid, cid, None, {"pay": "0.50"}, target_channel="C_REVIEW", owner=owner)
    subs.beat_claims(db, frozen, (datetime.now(UTC) - timedelta(seconds=LEASE_SECONDS + 1)).isoformat(timespec="microseconds"))
    report = gigdesk.features.review.sync()
    assert report.recovered == 2 and report.posted == 0, report.summary()
    assert sorted(review_ids(slack)) == sorted([dead, silent])
    assert subs.get(db, live).state == "claimed" and subs.get(db, live).claimed_by == posting_now
    assert {subs.get(db, sid).claimed_by for sid in (dead, silent)} == {me.id}
