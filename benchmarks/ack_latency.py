"""Ack latency of Approve clicks: N concurrent clicks on N distinct review messages.

The bot runs as `gigdesk serve` does (a real waitress server, alone in this
process; the simulators run in a child process, as the real APIs are
remote); each click is a real signed HTTP request from its own thread of a
separate load-generator process, all released at once. Measured: time to the HTTP 200 (Slack gives up after 3 s),
and how many approvals reached the RapidWorkers simulator (must equal N),
with the simulator answering at once and after 2.5 s.

With --socket-mode the same bursts also reach a bot in Socket Mode (SLACK_APP_TOKEN,
the link `gigdesk serve` uses): the stand-in sends the N envelopes at once on the bot's
WebSocket, and the time measured is from each envelope's send to its ack.

Target: p99 < 150 ms at 100 concurrent clicks with the slow (2.5 s) API.

    python benchmarks/ack_latency.py [--clicks 10,30,100] [--latency 0,2.5] [--socket-mode]
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RemoteSimulators, env_for, percentile, table, verdict, wait_until  # noqa: E402

from bot.slack import ids  # noqa: E402
from storage import submissions as subs  # noqa: E402
from tests.support.harness import RunningBot, SocketBot  # noqa: E402
from tests.support.slack_requests import block_actions_body, envelope_of, sign  # noqa: E402

TARGET_MS = 150.0


def burst(bot, sims, rows: list[dict]) -> list[float]:
    """Fire one Approve click per row at once; seconds from send to HTTP 200 for each.

    The clicks come from a separate process (benchmarks/_clicker.py), as they
    come from Slack: the load generator's CPU is not charged to the bot.
    """
    job = {"url": bot.events_url, "requests": []}
    for r in rows:
        url = sims.response_url()
        body = block_actions_body(ids.REVIEW_APPROVE, str(r.submission_id), message_ts=r.ts, response_url=url)
        job["requests"].append({"body": base64.b64encode(body).decode(), "headers": sign(body)})
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("_clicker.py"))], input=json.dumps(job),
                          capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    bad = [s for s in result["statuses"] if s != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} clicks were not answered 200: {sorted(set(bad))}")
    return result["seconds"]


def socket_burst(bot, sims, rows: list[dict]) -> list[float]:
    """The same clicks as envelopes, all sent at once by the stand-in (in the simulators' process)."""
    deliveries = [envelope_of(block_actions_body(ids.REVIEW_APPROVE, str(r.submission_id), message_ts=r.ts,
                                                 response_url=sims.response_url())) for r in rows]
    seconds = sims.report(deliveries)
    missing = [s for s in seconds if s is None]
    if missing:
        raise RuntimeError(f"{len(missing)} envelopes were not acknowledged")
    return seconds


def deliver_all(slack, deliveries):
    """In the simulators' process: the burst, on the stand-in's Socket Mode server."""
    return slack.socket_mode.deliver_all(deliveries)


def run(clicks: list[int], latencies: list[float], transport: str = "http") -> list[dict]:
    results = []
    fire = socket_burst if transport == "socket" else burst
    for latency in latencies:
        sims = RemoteSimulators(report=deliver_all)
        workdir = tempfile.mkdtemp(prefix="gigdesk-bench-")
        try:
            campaign = sims.add_campaign("Ack benchmark", status="Active", pay="0.05", total=10_000)
            total = sum(clicks) + 1
            sids = [sims.add_submission(campaign, proof_text=f"proof {n}") for n in range(total)]
            env = env_for(sims, sims, workdir)
            bot = SocketBot({**env, "SLACK_APP_TOKEN": sims.app_token}, None).start() if transport == "socket" else RunningBot(env).start()
            try:
                report = bot.review.sync()
                assert report.posted == total, report.summary()
                rows = [subs.get(bot.db, sid) for sid in sids]
                # Warm-up: one click primes imports, connection pools and the member cache.
                fire(bot, sims, rows[:1])
                wait_until(lambda: subs.get(bot.db, sids[0]).state == "approved", 10)  # noqa: B023 (called within this iteration)
                sims.set_latency(latency, path_contains="/approve")
                start = 1
                for n in clicks:
                    batch = rows[start : start + n]
                    start += n
                    before = sims.count(method="POST", path_contains="/approve")
                    acks = fire(bot, sims, batch)
                    decided = wait_until(
                        lambda: all(subs.get(bot.db, r.submission_id).state == "approved" for r in batch),  # noqa: B023 (called within this iteration)
                        timeout=60 + latency * n,
                    )
                    time.sleep(0.2)
                    reached = sims.count(method="POST", path_contains="/approve") - before
                    results.append({
                        "transport": transport,
                        "latency_s": latency,
                        "clicks": n,
                        "p50_ms": round(percentile(acks, 50) * 1000, 1),
                        "p99_ms": round(percentile(acks, 99) * 1000, 1),
                        "max_ms": round(max(acks) * 1000, 1),
                        "decisions": reached,
                        "all_decided": bool(decided),
                    })
            finally:
                bot.stop()
        finally:
            sims.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", default="10,30,100", help="concurrent clicks per burst (comma-separated)")
    parser.add_argument("--latency", default="0,2.5", help="simulator latency of /approve in seconds (comma-separated)")
    parser.add_argument("--socket-mode", action="store_true", help="also measure the same bursts in Socket Mode (envelope to ack)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    clicks = [int(x) for x in args.clicks.split(",")]
    latencies = [float(x) for x in args.latency.split(",")]
    results = run(clicks, latencies)
    if args.socket_mode:
        results += run(clicks, latencies, "socket")
    print("Ack latency: N concurrent Approve clicks on N distinct messages (HTTP: time to HTTP 200; Socket Mode: envelope sent to ack received)")
    print(table(
        ["transport", "API latency", "clicks", "p50 ms", "p99 ms", "max ms", "decisions reached API"],
        [[r["transport"], f"{r['latency_s']:g} s", r["clicks"], r["p50_ms"], r["p99_ms"], r["max_ms"], f"{r['decisions']}/{r['clicks']}"]
         for r in results],
    ))
    correct = all(r["decisions"] == r["clicks"] and r["all_decided"] for r in results)
    slow_big = [r for r in results if r["clicks"] == max(clicks) and r["latency_s"] == max(latencies)]
    fast_enough = all(r["p99_ms"] < TARGET_MS for r in slow_big)
    print(f"target p99 < {TARGET_MS:g} ms at {max(clicks)} clicks, {max(latencies):g} s API: {verdict(fast_enough)}"
          f" ({', '.join(str(r['p99_ms']) + ' ms' for r in slow_big)})")
    print(f"every click decided exactly once at the API: {verdict(correct)}")
    if args.json:
        print(json.dumps(results))
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
