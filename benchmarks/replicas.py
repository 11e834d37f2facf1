"""Replicas on PostgreSQL: one `gigdesk serve` vs two on one database (issue 23).

Printed:
* ack p99 of 200 concurrent Approve clicks (40 cards, 5 clicks each, spread over the replicas);
  approvals reaching the simulator must equal the cards (each decision made once);
* failover: seconds from kill -9 of the leader (bot/leader.py) to the other replica posting a
  new submission (GIGDESK_LEADER_TTL_SECONDS=30, the default; the replicas share one host, where
  a dead leader is seen at the next try, a third of the TTL at most);
* the database side of one decision (claim, post, begin, finish, audit), SQLite vs PostgreSQL,
  and sync throughput into the database (submissions claimed and recorded per second) by one
  or two processes racing over the same pending list.

Needs PostgreSQL's binaries (Debian: apt-get install postgresql); without them it says so and exits 0.

    python benchmarks/replicas.py [--clicks 200] [--cards 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, review_ids, simulators, table, wait_until  # noqa: E402

from bot.leader import LEADER_LEASE  # noqa: E402
from bot.slack import ids  # noqa: E402
from storage import audit, leases, submissions  # noqa: E402
from storage.db import Store  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.harness import BotProcess, bot_env, free_port  # noqa: E402
from tests.support.slack_requests import SlackPoster  # noqa: E402


def replicas(slack, sandbox, workdir: str, url: str, count: int) -> list[BotProcess]:
    procs = []
    for n in range(count):
        env = bot_env(slack, sandbox, str(Path(workdir, "unused.db")), GIGDESK_DATABASE_URL=url, PORT=str(free_port()),
                      GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off", GIGDESK_BATCH_ABOVE="100000")
        where = Path(workdir, f"replica-{count}-{n}")
        where.mkdir()
        procs.append(BotProcess(env, "serve", workdir=where))
    for proc in procs:
        proc.wait_healthy(timeout=60)
    return procs


def clicks_and_failover(server, count: int, clicks: int, cards: int) -> tuple[float, int, float | None]:
    """(ack p99 ms, approvals reaching the simulator, failover seconds or None for one replica)."""
    with simulators() as (sandbox, slack, workdir):
        url = server.new_database()
        cid = sandbox.add_campaign("Bench", status="Active", pay="0.10")
        sids = [sandbox.add_submission(cid) for _ in range(cards)]
        procs = replicas(slack, sandbox, workdir, url, count)
        try:
            wait_until(lambda: len(review_ids(slack)) >= cards, timeout=120, interval=0.1)
            db = Store("", url=url).db
            rows = [submissions.get(db, sid) for sid in sids]
            posters = [SlackPoster(p.url + "/slack/events", standin=slack) for p in procs]
            start = threading.Barrier(clicks)

            def click(n: int) -> float:
                row = rows[n % cards]
                start.wait()
                began = time.perf_counter()
                response = posters[n % count].click(ids.REVIEW_APPROVE, str(row.submission_id), message_ts=row.ts)
                assert response.status_code == 200
                return time.perf_counter() - began

            with ThreadPoolExecutor(max_workers=clicks) as pool:
                seconds = list(pool.map(click, range(clicks)))
            wait_until(lambda: sandbox.count(path_contains="/approve") >= cards, timeout=60, interval=0.1)
            time.sleep(1)
            approvals = sandbox.count(path_contains="/approve")
            failover = None
            if count > 1:
                holder = leases.holder(db, LEADER_LEASE)
                leader = next(p for p in procs if holder is not None and p.pid == holder.pid)
                leader.kill9()
                killed = time.monotonic()
                sandbox.add_submission(cid)
                wait_until(lambda: len(review_ids(slack)) > cards, timeout=60, interval=0.05)
                failover = time.monotonic() - killed
            return percentile([s * 1000 for s in seconds], 99), approvals, failover
        finally:
            for proc in procs:
                proc.kill9()


def decision_cost(url: str | None, n: int = 300) -> float:
    """Milliseconds of database work for one decision, on one backend."""
    with tempfile.TemporaryDirectory() as workdir:
        store = Store(str(Path(workdir, "g.db")), url=url)
        db = store.db
        began = time.perf_counter()
        for sid in range(1, n + 1):
            submissions.claim(db, sid, "c", "W", {"pay": "0.10"})
            submissions.mark_posted(db, sid, "C", f"1.{sid}")
            submissions.begin_decision(db, sid, "approving", "U1")
            submissions.finish_decision(db, sid, "approved", decided_by="U1", amount_paid="0.10")
            audit.audit(db, "U1", "approve", str(sid), "approved")
        store.close()
        return (time.perf_counter() - began) * 1000 / n


def sync_throughput(url: str | None, processes: int, n: int = 600) -> float:
    """Submissions claimed and recorded per second by `processes` stores racing over one list."""
    with tempfile.TemporaryDirectory() as workdir:
        stores = [Store(str(Path(workdir, "g.db")), url=url) for _ in range(processes)]

        def sync(store: Store) -> None:
            for sid in range(1, n + 1):
                if submissions.claim(store.db, sid, "c", "W", {}):
                    submissions.mark_posted(store.db, sid, "C", f"1.{sid}")

        began = time.perf_counter()
        threads = [threading.Thread(target=sync, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate = n / (time.perf_counter() - began)
        for s in stores:
            s.close()
        return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--cards", type=int, default=40)
    args = parser.parse_args(argv)
    server = postgres.start_server(durable=True)  # fsync and synchronous commit on, as SQLite's WAL commits
    if server is None:
        print("PostgreSQL is not installed: benchmark skipped (Debian: apt-get install postgresql)")
        return 0
    try:
        rows = []
        for count in (1, 2):
            p99, approvals, failover = clicks_and_failover(server, count, args.clicks, args.cards)
            rows.append([count, f"{p99:.0f}", f"{approvals}/{args.cards}", "-" if failover is None else f"{failover:.1f}",
                         f"{sync_throughput(server.new_database(), count):.0f}"])
        print(f"{args.clicks} concurrent Approve clicks on {args.cards} cards, spread over the replicas (PostgreSQL)")
        print(table(["replicas", "ack p99 ms", "approvals", "failover s", "sync subs/s into db"], rows))
        print()
        pg, lite = decision_cost(server.new_database()), decision_cost(None)
        lite_sync = sync_throughput(None, 1)
        print(table(["backend", "ms per decision (db)", "sync subs/s (1 process)"],
                    [["sqlite", f"{lite:.2f}", f"{lite_sync:.0f}"], ["postgresql", f"{pg:.2f}", rows[0][4]]]))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
