"""Wonolo requests per poll cycle (WONOLO_POLL_SECONDS), counted at the Wonolo simulator.

With 20, 200 and 1,000 job requests on the account (a fifth of them active, all created at once;
the rest finished two days ago): the first cycle (it looks back 24 h, so every recent active
request gets its card, MAX_SYNCS a cycle) and the catch-up after it, an idle cycle,
a cycle with 1 changed job, one with 5 changed jobs on 5 requests, and one with 30 changes (more
than a cycle syncs: the rest waits). Also how many cycles the first catch-up takes.

Target: 2 requests when idle; never more than bot.wonolo_desk.intake.MAX_POLL_REQUESTS (+1 sign-in).

    python benchmarks/wonolo_poll.py [--requests 20,200,1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import env_for, gigdesk_for, simulators, table, verdict  # noqa: E402


def measure(n_requests: int) -> dict:
    from bot.wonolo_desk.intake import MAX_POLL_REQUESTS, OVERLAP
    from sandbox.wonolo import WonoloSandbox

    with simulators() as (sandbox, slack, workdir), WonoloSandbox(demo_data=False) as wonolo:
        gigdesk = gigdesk_for(env_for(slack, sandbox, workdir, WONOLO_API_KEY=wonolo.api_key,
                                        WONOLO_SECRET_KEY=wonolo.secret_key, WONOLO_BASE_URL=wonolo.url,
                                        WONOLO_CHANNEL="C_WONOLO", WONOLO_UNFILLED_ALERT_HOURS="0"))
        desk = gigdesk.features.wonolo_desk
        worker = wonolo.add_user(first_name="Maria", last_name="Lopez")
        jrs = [wonolo.add_job_request(request_name=f"Shift {n}", slots=2) for n in range(n_requests)]
        for jr in jrs[n_requests // 5:]:
            wonolo.set_job_request_state(jr, "completed")  # history: never gets a card
            wonolo.job_requests[jr]["updated_at"] = datetime.now(UTC) - timedelta(days=2)
        active = jrs[: n_requests // 5]

        def cycle() -> tuple[int, object]:
            before = wonolo.count()
            report = desk.poll()
            return wonolo.count() - before, report

        first, first_report = cycle()
        catch_up, cycles = [first], 1
        while (first_report.left or first_report.more) and cycles < 200:
            spent, first_report = cycle()
            catch_up.append(spent)
            cycles += 1
        time.sleep(OVERLAP.total_seconds() + 1)  # steady state: the catch-up's changes are behind the cursor
        idle, _ = cycle()
        job = wonolo.add_job(active[0], worker, "pending")
        wonolo.set_job_state(job, "filled")
        one, one_report = cycle()
        for jr in active[1:6]:
            wonolo.add_job(jr, worker, "filled")
        five, five_report = cycle()
        for jr in active[:30]:
            wonolo.set_job_request_state(jr, "cancelled")
        many, many_report = cycle()
        desk.close()
        return {
            "requests": n_requests, "active": len(active), "first": first, "catch_up_cycles": cycles,
            "catch_up_max": max(catch_up), "idle": idle, "one": one, "one_synced": one_report.synced,
            "five": five, "five_synced": five_report.synced, "many": many, "many_synced": many_report.synced,
            "many_left": many_report.left, "bound": MAX_POLL_REQUESTS,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", default="20,200,1000", help="job requests on the account (comma-separated)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = [measure(int(n)) for n in args.requests.split(",")]
    if args.json:
        print(json.dumps(results))
    print(f"Wonolo requests per poll cycle (counted at the simulator; bound {results[0]['bound']} + 1 sign-in)")
    print(table(
        ["job requests (active)", "first cycle", "catch-up cycles (max each)", "idle", "1 job changed",
         "5 requests changed", "30 changed"],
        [[f"{r['requests']} ({r['active']})", r["first"], f"{r['catch_up_cycles']} ({r['catch_up_max']})", r["idle"],
          f"{r['one']} ({r['one_synced']} synced)", f"{r['five']} ({r['five_synced']} synced)",
          f"{r['many']} ({r['many_synced']} synced, {r['many_left']} left)"] for r in results],
    ))
    ok = all((r["idle"] == 2 or r["active"] >= 50)
             and max(r["first"], r["catch_up_max"], r["one"], r["five"], r["many"]) <= r["bound"] + 1 for r in results)
    print(f"{verdict(ok)}: every cycle within the bound; idle = 2 requests (one page of each list) unless more than "
          "50 changes share the latest change's seconds (then a page more each 50, still within the bound)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
