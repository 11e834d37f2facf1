"""Footprint: memory of an idle `gigdesk serve`, CPU of one big sync.

1. Starts the real `gigdesk serve` (the console script; `python -m bot.cli
   serve` if it is not installed) as a subprocess against the simulators,
   with 1,000 pending submissions. Once its start-up sync has posted all of
   them and it has sat idle a few seconds, reads VmRSS (and the peak, VmHWM,
   and the thread count) from /proc/<pid>/status.
2. In this process: one sync cycle over 10,000 pending submissions across 20
   campaigns (stand-in without rate limit, post interval 0). Reports the CPU
   time of the syncing thread alone (time.thread_time: the bot's work) and
   of the whole process (time.process_time: also the in-process simulators
   answering it), and the wall time.

    python benchmarks/footprint.py [--serve-count 1000] [--sync-count 10000] [--campaigns 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env_for, gigdesk_for, kib_to_mib, proc_status, review_ids, serving, simulators, table  # noqa: E402


def serve_rss(count: int, campaigns: int, idle_seconds: float) -> dict:
    with simulators() as (sandbox, slack, workdir):
        cids = [sandbox.add_campaign(f"Footprint {n}", status="Active", total=count) for n in range(campaigns)]
        for n in range(count):
            sandbox.add_submission(cids[n % campaigns], proof_text=f"proof {n}", images=2)
        with serving(slack, sandbox, workdir, count) as (proc, command, startup_sync):
            time.sleep(idle_seconds)
            status = proc_status(proc.pid)
            stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            cpu_seconds = (int(stat[11]) + int(stat[12])) / ticks
        return {
            "submissions": len(set(review_ids(slack))),
            "command": " ".join(Path(c).name if n == 0 else c for n, c in enumerate(command)),
            "rss_mib": kib_to_mib(status["VmRSS"]),
            "peak_rss_mib": kib_to_mib(status["VmHWM"]),
            "threads": int(status["Threads"]),
            "startup_sync_s": round(startup_sync, 1),
            "cpu_s": round(cpu_seconds, 2),
        }


def sync_cpu(count: int, campaigns: int) -> dict:
    with simulators() as (sandbox, slack, workdir):
        cids = [sandbox.add_campaign(f"Big {n}", status="Active", total=count) for n in range(campaigns)]
        for n in range(count):
            sandbox.add_submission(cids[n % campaigns], proof_text=f"proof {n}", images=2)
        gigdesk = gigdesk_for(env_for(slack, sandbox, workdir, GIGDESK_POST_INTERVAL_MS="0"))
        wall, process, thread = time.perf_counter(), time.process_time(), time.thread_time()
        report = gigdesk.features.review.sync()
        wall, process, thread = time.perf_counter() - wall, time.process_time() - process, time.thread_time() - thread
        db_bytes = sum(p.stat().st_size for p in Path(workdir).glob("gigdesk.db*"))
        return {
            "submissions": count,
            "campaigns": campaigns,
            "posted": report.posted,
            "errors": report.errors,
            "sync_thread_cpu_s": round(thread, 2),
            "process_cpu_s": round(process, 2),
            "wall_s": round(wall, 2),
            "thread_cpu_ms_per_submission": round(thread * 1000 / count, 2),
            "db_mib": round(db_bytes / 2**20, 1),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-count", type=int, default=1000)
    parser.add_argument("--sync-count", type=int, default=10000)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading the memory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    serve = serve_rss(args.serve_count, 10, args.idle)
    print(f"Idle `{serve['command']}` after posting {serve['submissions']} submissions (start-up sync {serve['startup_sync_s']} s)")
    print(table(["VmRSS MiB", "VmHWM (peak) MiB", "threads", "CPU s so far"],
                [[serve["rss_mib"], serve["peak_rss_mib"], serve["threads"], serve["cpu_s"]]]))
    big = sync_cpu(args.sync_count, args.campaigns)
    print(f"\nOne sync over {big['submissions']} pending submissions in {big['campaigns']} campaigns (posted {big['posted']})")
    print(table(["sync thread CPU s", "ms/submission", "process CPU s (with simulators)", "wall s", "database MiB"],
                [[big["sync_thread_cpu_s"], big["thread_cpu_ms_per_submission"], big["process_cpu_s"], big["wall_s"], big["db_mib"]]]))
    if args.json:
        print(json.dumps({"serve": serve, "sync": big}))
    ok = serve["submissions"] == args.serve_count and big["posted"] == args.sync_count and not big["errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
