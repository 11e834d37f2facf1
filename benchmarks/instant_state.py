"""Instant state: time from an Approve click to the in-progress message, with RapidWorkers 5 s slow.

N concurrent clicks on N distinct review messages (one message per submission),
fired from a separate process (benchmarks/_clicker.py) and delivered to the bot
by the Slack stand-in, as Slack delivers them (its /_deliver). The bot runs in
this process; the simulators run in a child process. Measured per click, on the
stand-in's one clock (time.monotonic() in that process): from the click reaching
the stand-in to the stand-in receiving the first chat.update of that message;
and whether that update was the in-progress state (no buttons, "Approving…") or
already the decided message (what the bot did before the instant state:
nothing until RapidWorkers answered). A negative duration means the
measurement is wrong: the benchmark stops with an error instead of printing
it. Also: the card's height in blocks for a 5-image submission, before and
after the decision.

Last, 10 clicks half a second after 32 others, whose decisions are still
waiting on the API (more than the work pool's threads): the in-progress step
must not queue behind them.

Target: p99 < 1 s in every case, with the API answering after 5 s.

    python benchmarks/instant_state.py [--clicks 10,50] [--latency 5]
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
from tests.support.harness import RunningBot  # noqa: E402
from tests.support.slack_requests import block_actions_body, sign  # noqa: E402

TARGET_S = 1.0
# Earlier clicks still waiting on the API when the measured ones come: twice the work pool (16).
BUSY_EARLIER = 32
IN_PROGRESS_MARK = "Approving…"


def _clicks_and_updates(slack) -> dict:
    """In the simulators' child process: the clicks the stand-in delivered and the chat.update
    calls it got, each stamped with that process's time.monotonic()."""
    return {
        "clicks": [{"ts": d.message_ts, "at": d.received, "status": d.status} for d in slack.deliveries()],
        "updates": [
            {"ts": c.args.get("ts"), "at": c.received,
             "in_progress": IN_PROGRESS_MARK in json.dumps(c.args.get("blocks"), ensure_ascii=False)}
            for c in slack.calls_to("chat.update") if c.ok
        ],
    }


def _job(bot, sims, rows: list[dict]) -> str:
    """Clicks for the clicker, sent to the stand-in, which delivers them to the bot."""
    job = {"url": f"{sims.slack_url}_deliver", "requests": []}
    for r in rows:
        body = block_actions_body(ids.REVIEW_APPROVE, str(r.submission_id), message_ts=r.ts, response_url=sims.response_url())
        job["requests"].append({"body": base64.b64encode(body).decode(), "headers": {**sign(body), "X-Deliver-To": bot.events_url}})
    return json.dumps(job)


def click_to_update(report: dict, rows: list) -> tuple[list[float], int]:
    """Per row, seconds from its click reaching the stand-in to the first chat.update of its
    message (both on the stand-in's clock), and how many of those updates were in progress.
    Raises if a duration is negative: then the two ends are not what they claim to be."""
    clicks: dict[str, float] = {}
    for click in report["clicks"]:
        if click["ts"] in clicks:
            raise RuntimeError(f"message {click['ts']} was clicked twice: its update cannot be told apart")
        clicks[click["ts"]] = click["at"]
    first: dict[str, dict] = {}
    for update in sorted(report["updates"], key=lambda u: u["at"]):
        first.setdefault(update["ts"], update)
    seconds, in_progress = [], 0
    for r in rows:
        update = first.get(r.ts)
        if update is None:
            seconds.append(float("inf"))
            continue
        duration = update["at"] - clicks[r.ts]
        if duration < 0:
            raise RuntimeError(f"submission {r.submission_id}: its message was updated {-duration:.3f} s before the click "
                               "reached Slack; refusing to print a negative time")
        seconds.append(duration)
        in_progress += bool(update["in_progress"])
    return seconds, in_progress


def _clicker() -> list[str]:
    return [sys.executable, str(Path(__file__).with_name("_clicker.py"))]


def _answered(stdout: str) -> None:
    result = json.loads(stdout)
    bad = [s for s in result["statuses"] if s != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} clicks were not answered 200: {sorted(set(bad))}")


def burst(bot, sims, rows: list[dict]) -> None:
    """Fire one Approve click per row at once."""
    done = subprocess.run(_clicker(), input=_job(bot, sims, rows), capture_output=True, text=True, timeout=120, check=True)
    _answered(done.stdout)


def burst_while_busy(bot, sims, earlier: list[dict], rows: list[dict]) -> None:
    """Click `earlier` at once, then `rows` half a second later, while those decisions wait on the API."""
    first = subprocess.Popen(_clicker(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert first.stdin is not None
    first.stdin.write(_job(bot, sims, earlier))
    first.stdin.close()
    time.sleep(0.5)
    burst(bot, sims, rows)
    assert first.stdout is not None
    _answered(first.stdout.read())
    first.wait(timeout=120)


def run(clicks: list[int], latency: float, busy_clicks: int = 10) -> tuple[list[dict], dict]:
    results: list[dict] = []
    sims = RemoteSimulators(report=_clicks_and_updates)
    workdir = tempfile.mkdtemp(prefix="gigdesk-bench-")
    card: dict = {}
    try:
        campaign = sims.add_campaign("Instant state benchmark", status="Active", pay="0.05", total=10_000)
        total = sum(clicks) + BUSY_EARLIER + busy_clicks + 1
        sids = [sims.add_submission(campaign, proof_text=f"proof {n}", images=5) for n in range(total)]
        # One message per submission (no batch messages): each click has its own message to update.
        bot = RunningBot(env_for(sims, sims, workdir, GIGDESK_BATCH_ABOVE=str(total))).start()
        try:
            report = bot.review.sync()
            assert report.posted == total, report.summary()
            rows = [subs.get(bot.db, sid) for sid in sids]
            posted = bot.review.render(rows[0])[1]
            card["posted_blocks"] = len(posted)
            card["posted_image_blocks"] = sum(1 for b in posted if b["type"] == "image")
            # Warm-up: one click primes imports, connection pools and the member cache.
            burst(bot, sims, rows[:1])
            wait_until(lambda: subs.get(bot.db, sids[0]).state == "approved", 10)
            decided = bot.review.render(subs.get(bot.db, sids[0]))[1]
            card["decided_blocks"] = len(decided)
            card["decided_image_blocks"] = sum(1 for b in decided if b["type"] == "image")
            sims.set_latency(latency, path_contains="/approve")
            start = 1
            scenarios = [(n, 0) for n in clicks] + [(busy_clicks, BUSY_EARLIER)]
            for n, earlier_n in scenarios:
                earlier, batch = rows[start : start + earlier_n], rows[start + earlier_n : start + earlier_n + n]
                start += earlier_n + n
                if earlier:
                    burst_while_busy(bot, sims, earlier, batch)
                else:
                    burst(bot, sims, batch)
                wait_until(lambda: all(subs.get(bot.db, r.submission_id).state == "approved" for r in earlier + batch),  # noqa: B023 (called within this iteration)
                           timeout=60 + latency * (n + earlier_n))
                seconds, instant = click_to_update(sims.report(), batch)
                results.append({
                    "latency_s": latency,
                    "clicks": n,
                    "busy": earlier_n,
                    "p50_s": round(percentile(seconds, 50), 3),
                    "p99_s": round(percentile(seconds, 99), 3),
                    "max_s": round(max(seconds), 3),
                    "in_progress_first": instant,
                })
        finally:
            bot.stop()
    finally:
        sims.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results, card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", default="10,50", help="concurrent clicks per burst (comma-separated)")
    parser.add_argument("--latency", type=float, default=5.0, help="simulator latency of /approve in seconds")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    results, card = run([int(x) for x in args.clicks.split(",")], args.latency)
    print("Instant state: N concurrent Approve clicks, time from the click reaching Slack to the message's first update"
          " (both on the Slack stand-in's clock)")
    print(table(
        ["API latency", "clicks", "while in flight", "p50 s", "p99 s", "max s", "first update was in-progress"],
        [[f"{r['latency_s']:g} s", r["clicks"], r["busy"] or "-", r["p50_s"], r["p99_s"], r["max_s"],
          f"{r['in_progress_first']}/{r['clicks']}"] for r in results],
    ))
    print(f"card of a 5-image submission: {card['posted_blocks']} blocks ({card['posted_image_blocks']} image) while open,"
          f" {card['decided_blocks']} blocks ({card['decided_image_blocks']} image) once decided")
    ok = all(r["p99_s"] < TARGET_S and r["in_progress_first"] == r["clicks"] for r in results)
    print(f"target p99 < {TARGET_S:g} s with a {args.latency:g} s API, in-progress first every time: {verdict(ok)}")
    if args.json:
        print(json.dumps({"results": results, "card": card}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
