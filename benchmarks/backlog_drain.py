"""Draining a backlog: 1,000 pending submissions across 10 campaigns into one review channel.

Before and after batch mode: "before" posts one message per submission
(GIGDESK_BATCH_ABOVE set past the backlog); "after" uses the default
(GIGDESK_BATCH_ABOVE=20): a sync that finds more than 20 new submissions for a
channel posts batch messages of up to 10 rows. Lost and doubled are counted
per submission from the messages' metadata (a batch names all its rows).

The Slack stand-in enforces Slack's per-channel limit on chat.postMessage
(a token bucket: a short burst, then HTTP 429 with Retry-After). The bot runs
sync cycles (as `gigdesk poll` / the scheduler do) until every submission is
posted. Measured: time until all are posted, 429s seen, messages lost (must
be 0) and posted twice (must be 0).

Slack's real limit is about 1 message per second per channel, so 1,000
messages take ~17 minutes. By default the run is scaled: the stand-in allows
--rate messages per second (20) and the bot paces itself to match
(GIGDESK_POST_INTERVAL_MS = 1000 / rate). `--rate 1` runs the real-size
experiment. A second run lets the bot post unpaced (interval 0) against the
same limit, so the 429 path (Retry-After honoured, nothing lost or doubled)
is exercised: --unpaced N submissions (200; 0 skips it).

    python benchmarks/backlog_drain.py [--rate 20] [--count 1000] [--campaigns 10] [--burst 5] [--unpaced 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env_for, gigdesk_for, review_ids, simulators, table, verdict  # noqa: E402

NO_BATCHES = "1000000"  # GIGDESK_BATCH_ABOVE past any backlog: one message per submission


def drain(*, count: int, campaigns: int, rate: float, burst: int, interval_ms: int, batch_above: str, max_cycles: int = 50) -> dict:
    with simulators(post_rate=rate, post_burst=burst) as (sandbox, slack, workdir):
        cids = [sandbox.add_campaign(f"Backlog {n}", status="Active", total=count) for n in range(campaigns)]
        sids = [sandbox.add_submission(cids[n % campaigns], proof_text=f"proof {n}") for n in range(count)]
        gigdesk = gigdesk_for(env_for(slack, sandbox, workdir, GIGDESK_POST_INTERVAL_MS=str(interval_ms),
                                        GIGDESK_BATCH_ABOVE=batch_above))
        started = time.monotonic()
        cycles, failed, errors = 0, 0, Counter()
        while cycles < max_cycles:
            cycles += 1
            report = gigdesk.features.review.sync()
            failed += report.failed
            errors.update(e.split(": ", 1)[-1] for e in report.errors)
            if len(set(review_ids(slack))) >= count and not report.errors:
                break
        elapsed = time.monotonic() - started
        posted = review_ids(slack)
        per_sid = Counter(posted)
        posts = slack.calls_to("chat.postMessage")
        return {
            "mode": "one message each" if batch_above == NO_BATCHES else f"batches (above {batch_above})",
            "messages": len(slack.messages("C_REVIEW", include_replies=False)),
            "count": count,
            "rate": rate,
            "interval_ms": interval_ms,
            "seconds": round(elapsed, 1),
            "per_second": round(len(per_sid) / elapsed, 2) if elapsed else None,
            "cycles": cycles,
            "calls": len(posts),
            "http_429": sum(1 for c in posts if c.status == 429),
            "failed_posts": failed,
            "lost": len(set(sids) - set(per_sid)),
            "doubled": sum(1 for n in per_sid.values() if n > 1),
            "errors": dict(errors),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second per channel the stand-in allows (Slack: ~1)")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--burst", type=int, default=5, help="messages the stand-in allows in a burst")
    parser.add_argument("--unpaced", type=int, default=200, help="submissions for the unpaced run (0: skip it)")
    parser.add_argument("--batch-above", default="20", help="GIGDESK_BATCH_ABOVE of the 'after' runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    scale = args.rate / 1.0
    paced = round(1000 / args.rate)
    runs = [drain(count=args.count, campaigns=args.campaigns, rate=args.rate, burst=args.burst, interval_ms=paced, batch_above=mode)
            for mode in (NO_BATCHES, args.batch_above)]
    if args.unpaced:
        runs += [drain(count=args.unpaced, campaigns=args.campaigns, rate=args.rate, burst=args.burst, interval_ms=0, batch_above=mode)
                 for mode in (NO_BATCHES, args.batch_above)]
    print(f"Backlog drain into one channel; stand-in limit {args.rate:g} msg/s, burst {args.burst}"
          + (f" (scaled {scale:g}x from Slack's ~1 msg/s: real time ≈ measured × {scale:g})" if scale != 1 else " (Slack's real rate)"))
    print(table(
        ["mode", "bot pacing", "submissions", "messages", "seconds", "subm./s", "real-rate equiv.", "sync cycles",
         "postMessage calls", "429s", "lost", "posted twice"],
        [[r["mode"], f"{r['interval_ms']} ms" + (" (unpaced)" if not r["interval_ms"] else ""), r["count"], r["messages"],
          r["seconds"], r["per_second"], f"{r['seconds'] * scale / 60:.1f} min", r["cycles"], r["calls"], r["http_429"],
          r["lost"], r["doubled"]] for r in runs],
    ))
    before, after = runs[0], runs[1]
    if after["seconds"]:
        print(f"batch mode: {before['seconds'] * scale / 60:.1f} min -> {after['seconds'] * scale / 60:.1f} min at Slack's real rate"
              f" ({before['seconds'] / after['seconds']:.1f}x faster; target >= 5x)")
    for r in runs:
        if r["errors"]:
            print(f"  sync reports ({r['mode']}, {r['interval_ms']} ms): {r['errors']}")
    ok = all(r["lost"] == 0 and r["doubled"] == 0 for r in runs)
    print(f"nothing lost, nothing posted twice: {verdict(ok)}")
    if args.json:
        print(json.dumps(runs))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
