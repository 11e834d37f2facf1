"""Charts: how long /rw spend takes to draw a month of spend for 50 campaigns, and what drawing
costs the memory of a running `gigdesk serve`.

1. In a process that has not loaded matplotlib (as `serve`): the report of a month of stored spends
   (approvals in 50 campaigns, N a day, through storage.reports.spends and bot.reports.spend.build),
   then the stacked chart (top 8 + Other) as the bot draws it: in a child process that imports
   matplotlib (bot.reports.charts.spend_png). Each draw is timed whole (report + child + PNG back);
   also the drawing alone, in-process and warm, for comparison.
2. The real `gigdesk serve` on the simulators: VmRSS idle (matplotlib not loaded: the reports import
   it only to draw), then after a `/rw spend` that drew a chart and uploaded it.

    python benchmarks/charts.py [--campaigns 50] [--per-day 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import kib_to_mib, proc_status, serving, simulators, table, wait_until  # noqa: E402

DRAW = textwrap.dedent("""
    import json, random, statistics, sys, tempfile, time
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo
    from bot.reports import charts, periods, spend
    from storage import reports
    from storage.db import Store
    campaigns, per_day, repeat = (int(a) for a in sys.argv[1:4])
    tz = ZoneInfo("Europe/Berlin")
    store = Store(tempfile.mktemp(suffix=".db"))
    month = periods.period_of("2025-05", tz, datetime(2025, 6, 15).date())
    rng = random.Random(50)
    sid = 0
    with store.write():
        for day in month.days:
            for n in range(per_day):
                at = datetime(day.year, day.month, day.day, 8 + n % 10, n % 60, tzinfo=tz).astimezone(UTC).isoformat()
                c = rng.randrange(campaigns)
                sid += 1
                data = json.dumps({"campaign_title": f"Campaign {c:02d}: a long title for the legend", "pay": "0.50"})
                store.db.execute("INSERT INTO submissions (submission_id, campaign_id, state, data, claimed_at, decided_by,"
                                 " decided_at, outcome, amount_paid) VALUES (?, ?, 'approved', ?, ?, 'U1', ?, 'approved', ?)",
                                 [sid, f"c{c:02d}", data, at, at, f"{rng.randint(5, 900) / 100:.2f}"])
    loaded = "matplotlib" in sys.modules
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        start, end = month.bounds()
        report = spend.build(reports.spends(store.db, start, end), month)
        days, series = report.per_day(top=charts.TOP_CAMPAIGNS)
        png = charts.spend_png(days, series, title=f"Spend per day, {month.label()}: ${report.total:,.2f}")
        timings.append(time.perf_counter() - started)
    loaded_after = "matplotlib" in sys.modules
    charts.spend_chart(days, series, title="warm-up")
    in_process = []
    for _ in range(repeat):
        started = time.perf_counter()
        charts.spend_chart(days, series, title="in-process")
        in_process.append(time.perf_counter() - started)
    print(json.dumps({"loaded_before": loaded, "loaded_after": loaded_after, "spends": len(report.spends),
                      "campaigns": len(report.by_campaign()), "series": len(series), "png_bytes": len(png),
                      "median_s": statistics.median(timings), "max_s": max(timings),
                      "in_process_warm_s": statistics.median(in_process)}))
""")


def draw_times(campaigns: int, per_day: int, repeat: int) -> dict:
    done = subprocess.run([sys.executable, "-c", DRAW, str(campaigns), str(per_day), str(repeat)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def serve_memory(idle_seconds: float) -> dict:
    from sandbox.slack_requests import SlackPoster
    from tests.support.harness import SIGNING_SECRET

    with simulators() as (sandbox, slack, workdir):
        cid = sandbox.add_campaign("Footprint", status="Active", total=100, pay="0.50")
        for n in range(20):
            sandbox.add_submission(cid, proof_text=f"proof {n}")
        with serving(slack, sandbox, workdir, 20, GIGDESK_ALLOWED_USERS="U_ALICE") as (proc, command, _):
            time.sleep(idle_seconds)
            idle = proc_status(proc.pid)
            from storage import submissions as subs
            from storage.db import connect

            db = connect(str(Path(workdir) / "gigdesk.db"))
            poster = SlackPoster(f"http://127.0.0.1:{_port(proc)}/slack/events", SIGNING_SECRET, standin=slack)
            for row in subs.posted(db)[:10]:
                poster.click("review-approve", str(row.submission_id), message_ts=row.ts, user_id="U_ALICE", channel_id=row.channel)
            wait_until(lambda: sandbox.charged() >= 5, timeout=60)
            poster.command("/rw", "spend this-week", user_id="U_ALICE", channel_id="C_REVIEW")
            drew = wait_until(lambda: any(f["name"].endswith(".png") for f in slack.shared_files()), timeout=60)
            time.sleep(idle_seconds)
            after = proc_status(proc.pid)
            poster.session.close()
    return {"command": Path(command[0]).name, "idle_rss_mib": kib_to_mib(idle["VmRSS"]), "drew": bool(drew),
            "after_chart_rss_mib": kib_to_mib(after["VmRSS"]), "after_chart_peak_mib": kib_to_mib(after["VmHWM"])}


def _port(proc) -> int:
    """The PORT the serving() helper gave the process."""
    return int(Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"PORT=")[1].split(b"\0")[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--per-day", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    draw = draw_times(args.campaigns, args.per_day, args.repeat)
    print(f"A month (31 days) of spend for {draw['campaigns']} campaigns ({draw['spends']} spends), stacked: "
          f"top {draw['series'] - 1} + Other; PNG {draw['png_bytes'] // 1024} KiB")
    print(table(["report + chart s, median", "max", "drawing alone in-process (warm) s", "matplotlib in the bot's process"],
                [[round(draw["median_s"], 3), round(draw["max_s"], 3), round(draw["in_process_warm_s"], 3),
                  draw["loaded_before"] or draw["loaded_after"]]]))
    memory = serve_memory(args.idle)
    print(f"\n`{memory['command']} serve`: memory idle, then after one /rw spend drew and uploaded a chart")
    print(table(["idle VmRSS MiB", "after a chart VmRSS MiB", "peak (VmHWM) MiB"],
                [[memory["idle_rss_mib"], memory["after_chart_rss_mib"], memory["after_chart_peak_mib"]]]))
    if args.json:
        print(json.dumps({"draw": draw, "memory": memory}))
    ok = (draw["max_s"] <= 1.0 and not (draw["loaded_before"] or draw["loaded_after"]) and memory["drew"]
          and memory["idle_rss_mib"] < 80 and memory["after_chart_rss_mib"] < 80)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
