"""Processes beside `gigdesk serve` on one SQLite file.

1. CLI runs beside a busy serve: `gigdesk serve` syncs every second and takes 20 Approve clicks
   (each of 10 cards clicked twice) while ROUNDS rounds of `gigdesk poll` and
   `gigdesk digest --dry-run` run as separate processes, a new submission arriving each round.
2. Two `gigdesk serve` processes started together on 30 pending submissions.

Printed: approvals that reached RapidWorkers, "database is locked" / "disk I/O error" /
tracebacks in any output, submissions posted twice, PRAGMA integrity_check, and how long a CLI
round took. Before the fix (storage/db.py opened the database beside SQLite, and recovery took a
live process's claims): 0 of 10 approved with disk I/O errors, and 2 of 30 posted twice.

    python benchmarks/beside_serve.py [--rounds 6]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env_for, review_ids, simulators, table, verdict, wait_until  # noqa: E402

from tests.support.harness import BotProcess, free_port  # noqa: E402

BAD_SIGNS = ("database is locked", "disk I/O error", "Traceback")


def bad_signs(processes) -> dict[str, int]:
    found = Counter()
    for proc in processes:
        text = "".join(proc.output())
        for sign in BAD_SIGNS:
            found[sign] += text.count(sign)
    return {sign: found[sign] for sign in BAD_SIGNS}


def integrity(db_path: str) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def cli_beside_serve(rounds: int) -> dict:
    from bot.slack import ids
    from storage import submissions as subs
    from storage.db import connect
    from tests.support.slack_requests import SlackPoster

    with simulators() as (sandbox, slack, workdir):
        cid = sandbox.add_campaign("Beside serve", pay="0.50")
        first = [sandbox.add_submission(cid) for _ in range(10)]
        env = env_for(slack, sandbox, workdir, PORT=str(free_port()), GIGDESK_POLL_SECONDS="1")
        serve = BotProcess(env, "serve", workdir=workdir).wait_healthy(60)
        processes, round_seconds = [serve], []
        try:
            db = connect(env["GIGDESK_DB"])
            wait_until(lambda: all((r := subs.get(db, s)) and r.state == "posted" for s in first), timeout=60)
            poster = SlackPoster(serve.url + "/slack/events", standin=slack)

            def cli_rounds():
                for _ in range(rounds):
                    sandbox.add_submission(cid)
                    started = time.monotonic()
                    batch = [BotProcess(env, "poll", workdir=workdir), BotProcess(env, "digest", "--dry-run", workdir=workdir)]
                    processes.extend(batch)
                    for proc in batch:
                        proc.wait(120)
                    round_seconds.append(time.monotonic() - started)

            runner = threading.Thread(target=cli_rounds)
            runner.start()
            for sid in first:
                ts = subs.get(db, sid).ts
                for _ in range(2):
                    poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=ts)
            runner.join()
            wait_until(lambda: all(subs.get(db, s).state == "approved" for s in first), timeout=30)
            wait_until(lambda: len(set(review_ids(slack))) >= 10 + rounds, timeout=30)
        finally:
            serve.stop()
        posted = Counter(review_ids(slack))
        return {
            "approved": sum(sandbox.count(path_contains=f"/submissions/{s}/approve") == 1 for s in first),
            "signs": bad_signs(processes),
            "twice": sum(1 for n in posted.values() if n > 1),
            "integrity": integrity(env["GIGDESK_DB"]),
            "round_s": sorted(round_seconds)[len(round_seconds) // 2] if round_seconds else float("nan"),
        }


def two_serves() -> dict:
    with simulators() as (sandbox, slack, workdir):
        cid = sandbox.add_campaign("Two at once", pay="0.50")
        sids = [sandbox.add_submission(cid) for _ in range(30)]
        env = env_for(slack, sandbox, workdir, GIGDESK_POLL_SECONDS="1", GIGDESK_BATCH_ABOVE="100", GIGDESK_POST_INTERVAL_MS="50")
        serves = [BotProcess({**env, "PORT": str(free_port())}, "serve", workdir=workdir) for _ in range(2)]
        try:
            for proc in serves:
                proc.wait_healthy(60)
            wait_until(lambda: set(review_ids(slack)) >= set(sids), timeout=120)
            time.sleep(3)  # a few more cycles of each: a late second post would show
        finally:
            for proc in serves:
                proc.stop()
        posted = Counter(review_ids(slack))
        return {"twice": sum(1 for n in posted.values() if n > 1), "lost": len(set(sids) - set(posted)),
                "signs": bad_signs(serves), "integrity": integrity(env["GIGDESK_DB"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of poll + digest --dry-run beside serve (default 6)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TMPDIR", tempfile.gettempdir())
    beside = cli_beside_serve(args.rounds)
    two = two_serves()
    clean = lambda signs: ", ".join(f"{k}: {v}" for k, v in signs.items())  # noqa: E731
    ok_beside = beside["approved"] == 10 and not any(beside["signs"].values()) and beside["twice"] == 0 and beside["integrity"] == "ok"
    ok_two = two["twice"] == 0 and two["lost"] == 0 and not any(two["signs"].values()) and two["integrity"] == "ok"
    print(table(
        ["case", "result", "errors in any output", "posted twice", "integrity", "verdict"],
        [[f"serve + {args.rounds} rounds of poll and digest --dry-run", f"{beside['approved']}/10 approved once",
          clean(beside["signs"]), beside["twice"], beside["integrity"], verdict(ok_beside)],
         ["two serves started together, 30 pending", f"{30 - two['lost']}/30 posted", clean(two["signs"]), two["twice"],
          two["integrity"], verdict(ok_two)]],
    ))
    print(f"\nA CLI round (poll and digest --dry-run side by side) took {beside['round_s']:.1f} s (median) beside serve.")
    return 0 if ok_beside and ok_two else 1


if __name__ == "__main__":
    sys.exit(main())
