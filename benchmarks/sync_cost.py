"""RapidWorkers requests per review sync cycle, counted at the simulator.

For 1, 10 and 100 active campaigns: the first cycle (everything is new), an
idle cycle (nothing changed), a cycle with 1 new submission, and one with a
new submission in each of k campaigns. Also a full background cycle as
`gigdesk serve` runs it every GIGDESK_POLL_SECONDS (sync + the throttled
low-balance check), idle.

Target: 1 request when idle, 1 + (changed campaigns) otherwise — the
RapidWorkers limit is 1,000 requests an hour.

    python benchmarks/sync_cost.py [--campaigns 1,10,100] [--changed 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env_for, gigdesk_for, simulators, table, verdict  # noqa: E402


def measure(n_campaigns: int, k_changed: int) -> dict:
    from bot.app import Background

    with simulators() as (sandbox, slack, workdir):
        gigdesk = gigdesk_for(env_for(slack, sandbox, workdir))
        review = gigdesk.features.review
        campaigns = [sandbox.add_campaign(f"Campaign {n}", status="Active", total=1000) for n in range(n_campaigns)]
        sandbox.add_campaign("Finished one", status="Completed")  # inactive campaigns cost nothing either
        for cid in campaigns:
            sandbox.add_submission(cid)

        def cycle(run) -> tuple[int, object]:
            sandbox.reset_log()
            result = run()
            return sandbox.count(), result

        first, first_report = cycle(review.sync)
        idle, idle_report = cycle(review.sync)
        sandbox.add_submission(campaigns[0])
        one_new, one_report = cycle(review.sync)
        k = min(k_changed, n_campaigns)
        for cid in campaigns[:k]:
            sandbox.add_submission(cid)
        k_new, k_report = cycle(review.sync)
        background = Background(gigdesk)
        cycle(background._sync)  # the first background cycle also reads the balance
        bg_idle, _ = cycle(background._sync)
        return {
            "campaigns": n_campaigns,
            "first": first, "first_posted": first_report.posted,
            "idle": idle, "idle_posted": idle_report.posted,
            "one_new": one_new, "one_posted": one_report.posted,
            "k": k, "k_new": k_new, "k_posted": k_report.posted,
            "background_idle": bg_idle,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", default="1,10,100", help="active campaigns (comma-separated)")
    parser.add_argument("--changed", type=int, default=5, help="campaigns with a new submission in the last cycle")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = [measure(int(n), args.changed) for n in args.campaigns.split(",")]
    print("RapidWorkers requests per sync cycle (counted at the simulator)")
    print(table(
        ["active campaigns", "first sync", "idle", "1 new submission", "k campaigns changed", "idle background cycle"],
        [[r["campaigns"], f"{r['first']} ({r['first_posted']} posted)", r["idle"], f"{r['one_new']} ({r['one_posted']} posted)",
          f"k={r['k']}: {r['k_new']} ({r['k_posted']} posted)", r["background_idle"]] for r in results],
    ))
    ok = all(
        r["idle"] == 1 and r["one_new"] == 2 and r["k_new"] == 1 + r["k"] and r["first"] == 1 + r["campaigns"]
        and r["background_idle"] == 1 and r["one_posted"] == 1 and r["k_posted"] == r["k"]
        for r in results
    )
    print(f"target 1 request idle, 1 + changed campaigns otherwise: {verdict(ok)}")
    if args.json:
        print(json.dumps(results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
