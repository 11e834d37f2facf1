"""Two real `gigdesk serve` replicas on one PostgreSQL database, clicks spread across both.

Each pending submission is posted once; ten clicks on one card, alternating replicas, reach
RapidWorkers once; after kill -9 of one replica the other posts new submissions within the lease
time; together they stay under one hourly request budget.
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.slack import ids
from storage import submissions as subs
from tests.support import postgres
from tests.support.harness import BotProcess, bot_env, free_port, wait_for
from tests.support.postgres import open_database
from tests.support.slack_requests import SlackPoster

LEASE_SECONDS = 30  # bot.leases.LEASE_SECONDS: a dead holder's lease is free after this


@pytest.fixture
def database(postgres_server) -> str:
    if postgres_server is None:
        postgres.unavailable()
    return postgres_server.new_database()


def review_messages(slack) -> list:
    return [m for m in slack.messages("C_REVIEW", include_replies=False) if (m.metadata or {}).get("event_type") == ids.SUBMISSION_EVENT]


def posted_ids(slack) -> list[int]:
    return sorted(m.metadata["event_payload"]["submission_id"] for m in review_messages(slack))


def start_replicas(slack, sandbox, tmp_path, url: str, count: int = 2, **env: str) -> list[BotProcess]:
    replicas = []
    for n in range(count):
        settings = bot_env(slack, sandbox, str(tmp_path / "unused.db"), GIGDESK_DATABASE_URL=url, PORT=str(free_port()),
                           GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off", GIGDESK_BATCH_ABOVE="1000", **env)
        workdir = tmp_path / f"replica-{n}"
        workdir.mkdir()
        replicas.append(BotProcess(settings, "serve", workdir=workdir))
    for replica in replicas:
        replica.wait_healthy(timeout=60)
    return replicas


def stop_all(replicas: list[BotProcess]) -> None:
    for replica in replicas:
        replica.kill9()


def test_two_replicas_post_each_submission_once_and_ten_alternating_clicks_approve_once(sandbox, slack, tmp_path, database):
    cid = sandbox.add_campaign("Replicas", status="Active", pay="0.50")
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(30)]
    replicas = start_replicas(slack, sandbox, tmp_path, database)
    try:
        wait_for(lambda: len(review_messages(slack)) >= 30, timeout=60)
        time.sleep(3)  # a few more syncs by both: still nothing posted twice
        assert posted_ids(slack) == sorted(sids)
        db = open_database("", database)
        assert {subs.get(db, sid).state for sid in sids} == {"posted"}

        target = sids[0]
        row = subs.get(db, target)
        posters = [SlackPoster(r.url + "/slack/events", standin=slack) for r in replicas]
        statuses: list[int] = []
        clicks = [threading.Thread(target=lambda n=n: statuses.append(
            posters[n % 2].click(ids.REVIEW_APPROVE, str(target), message_ts=row.ts).status_code)) for n in range(10)]
        for click in clicks:
            click.start()
        for click in clicks:
            click.join(timeout=30)
        assert statuses == [200] * 10
        wait_for(lambda: subs.get(db, target).state == "approved", timeout=20)
        time.sleep(1)
        assert sandbox.count(path_contains=f"/submissions/{target}/approve") == 1
        assert sandbox.submission(target)["status"] == "Approved"
    finally:
        stop_all(replicas)


def test_after_kill_9_of_one_replica_the_other_posts_new_submissions_within_the_lease_time(sandbox, slack, tmp_path, database):
    cid = sandbox.add_campaign("Failover", status="Active")
    first = [sandbox.add_submission(cid) for _ in range(3)]
    replicas = start_replicas(slack, sandbox, tmp_path, database)
    try:
        wait_for(lambda: posted_ids(slack) == sorted(first), timeout=30)
        replicas[0].kill9()
        killed_at = time.monotonic()
        later = [sandbox.add_submission(cid) for _ in range(3)]
        wait_for(lambda: posted_ids(slack) == sorted(first + later), timeout=LEASE_SECONDS + 10)
        took = time.monotonic() - killed_at
        assert took < LEASE_SECONDS, took
        print(f"failover: new submissions posted {took:.1f} s after kill -9 of a replica")
    finally:
        stop_all(replicas)


def test_two_replicas_together_stay_under_one_hourly_budget(sandbox, slack, tmp_path, database):
    cid = sandbox.add_campaign("Budget", status="Active")
    sandbox.add_submission(cid)
    limit = 20
    replicas = start_replicas(slack, sandbox, tmp_path, database, GIGDESK_RW_HOURLY_LIMIT=str(limit))
    try:
        # Both sync every second; each sync costs a request at least: the shared budget runs out.
        sync_share = limit - limit // 10  # the sync is background work with the priority reserve
        wait_for(lambda: sandbox.count() >= sync_share, timeout=60)
        time.sleep(4)  # more syncs by both, which must all be refused before a request
        assert sandbox.count() <= sync_share, sandbox.count()
    finally:
        stop_all(replicas)
