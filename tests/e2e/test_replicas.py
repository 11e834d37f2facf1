"""Two real `gigdesk serve` replicas on one PostgreSQL database, clicks spread across both.

Each pending submission is posted once; ten clicks on one card, alternating replicas, reach
RapidWorkers once; after kill -9 of one replica the other posts new submissions within the lease
time; together they stay under one hourly request budget.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bot.leader import LEADER_LEASE
from bot.slack import ids
from storage import leases
from storage import submissions as subs
from tests.support import postgres
from tests.support.harness import BotProcess, bot_env, free_port, wait_for
from tests.support.postgres import open_database
from tests.support.slack_requests import SlackPoster

LEADER_TTL = 3  # GIGDESK_LEADER_TTL_SECONDS of these replicas
POLL = 1  # GIGDESK_POLL_SECONDS of these replicas


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
                           GIGDESK_METRICS_PORT=str(free_port()), GIGDESK_POLL_SECONDS=str(POLL),
                           GIGDESK_LEADER_TTL_SECONDS=str(LEADER_TTL), GIGDESK_FORENSICS="off", GIGDESK_BATCH_ABOVE="1000", **env)
        workdir = tmp_path / f"replica-{n}"
        workdir.mkdir()
        replicas.append(BotProcess(settings, "serve", workdir=workdir))
    for replica in replicas:
        replica.wait_healthy(timeout=60)
    return replicas


def gauge(replica: BotProcess, sample: str) -> float:
    """One sample (name and labels as scraped) from the replica's /metrics (-1: not served yet)."""
    try:
        text = requests.get(f"http://127.0.0.1:{replica.env['GIGDESK_METRICS_PORT']}/metrics", timeout=5).text
    except requests.ConnectionError:  # /metrics starts just after /healthz
        return -1.0
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else -1.0


def leader_gauge(replica: BotProcess) -> float:
    """`gigdesk_leader{lease="leader"}` of the replica (-1: not served yet)."""
    return gauge(replica, 'gigdesk_leader{lease="leader"}')


def the_leader(replicas: list[BotProcess], db) -> BotProcess:
    """The one replica whose gauge says leader, and whose pid the live `leader` row names."""
    leading = wait_for(lambda: (found := [r for r in replicas if leader_gauge(r) == 1.0]) and found, timeout=2 * LEADER_TTL)
    assert len(leading) == 1, [leader_gauge(r) for r in replicas]
    assert [leader_gauge(r) for r in replicas if r is not leading[0]] == [0.0] * (len(replicas) - 1)
    row = leases.holder(db, LEADER_LEASE)
    assert row is not None and row.pid == leading[0].pid, (row, leading[0].pid)
    return leading[0]


def readyz(replica: BotProcess) -> tuple[int, dict]:
    answer = requests.get(replica.url + "/readyz", timeout=5)
    return answer.status_code, answer.json()


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


def test_one_leader_syncs_for_both_and_after_its_kill_9_the_other_takes_over_within_the_ttl(sandbox, slack, tmp_path, database):
    cid = sandbox.add_campaign("Failover", status="Active")
    first = [sandbox.add_submission(cid) for _ in range(3)]
    replicas = start_replicas(slack, sandbox, tmp_path, database)
    started = time.monotonic()
    try:
        wait_for(lambda: posted_ids(slack) == sorted(first), timeout=30)
        db = open_database("", database)
        leader = the_leader(replicas, db)
        follower = next(r for r in replicas if r is not leader)
        assert "review sync: " in leader.output()[1] and "review sync: " not in follower.output()[1]
        # Past the start-up grace (3 × poll) the follower, which never syncs, is ready on the leader's syncs.
        time.sleep(max(0.0, 3 * POLL + 1 - (time.monotonic() - started)))
        status, body = readyz(follower)
        assert status == 200 and body["checks"]["review_sync"].startswith("ok"), body
        assert body["checks"]["database"].startswith("ok: postgresql, schema version "), body  # the backend, reachable
        # ... and its gauge counts the leader's syncs too, not only its own (it has none)
        assert 0 <= gauge(follower, "gigdesk_seconds_since_last_good_sync") <= 3 * POLL

        leader.kill9()
        killed_at = time.monotonic()
        later = [sandbox.add_submission(cid) for _ in range(3)]
        wait_for(lambda: posted_ids(slack) == sorted(first + later), timeout=LEADER_TTL + POLL + 20)
        took = time.monotonic() - killed_at
        print(f"failover: new submissions posted {took:.1f} s after kill -9 of the leader")
        assert took < LEADER_TTL + POLL + 5, took  # TTL + one poll, and slack for a loaded machine
        assert the_leader([follower], db) is follower
        assert "review sync: " in follower.output()[1]
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


def test_a_leader_on_another_host_that_stopped_renewing_is_replaced_when_its_lease_runs_out(sandbox, slack, tmp_path, database):
    """A dead leader on another host cannot be seen dead (its pid is not ours to check): its
    `leader` row, as it left it, is honoured until it expires; then the replica takes over at
    its next try (a sixth of the TTL) and syncs."""
    cid = sandbox.add_campaign("Remote leader", status="Active")
    sid = sandbox.add_submission(cid)
    db = open_database("", database)
    expires = datetime.now(UTC) + timedelta(seconds=8)  # long enough for the replica to start meanwhile
    assert leases.take(db, LEADER_LEASE, "elsewhere/4242/dead0leader", "elsewhere", 4242,
                       datetime.now(UTC).isoformat(), expires.isoformat()) is None
    replicas = start_replicas(slack, sandbox, tmp_path, database, count=1)
    try:
        assert datetime.now(UTC) < expires - timedelta(seconds=1), "the replica took too long to start for this test"
        gauge = wait_for(lambda: (value := leader_gauge(replicas[0])) >= 0 and str(value), timeout=10)
        assert posted_ids(slack) == [] and gauge == "0.0"  # the live-looking lease is honoured
        wait_for(lambda: posted_ids(slack) == [sid], timeout=30)
        late = (datetime.now(UTC) - expires).total_seconds()
        print(f"takeover from a remote leader: posted {late:.1f} s after its lease ran out")
        assert 0 < late < LEADER_TTL / 6 + POLL + 5, late  # a beat and a poll, and slack for a loaded machine
        assert leases.holder(db, LEADER_LEASE).pid == replicas[0].pid
    finally:
        stop_all(replicas)
