"""Flagged honest cards in the demo's stream: how many cards of honest workers carry a flag.

Runs the demo world (sandbox/demo/world.py, as `gigdesk demo` does, without the browser),
adds `--count` submissions through its own stream (every few has a planted problem: a new
account with a low approval rate, a screenshot someone already sent, hostile proof text),
lets the bot post and check them, and reads each card as it stands in the Slack stand-in.
A card is flagged when it shows a warning or a proof-forensics flag (":warning:" or
":rotating_light:" lines). A submission is planted when its worker's account is new or
poorly rated (the card's own thresholds), its proof text is the hostile one, or its
first picture was sent before. Target: <= 5 % of honest cards flagged.

    python benchmarks/forensics_demo.py [--count 120]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, verdict  # noqa: E402

from sandbox.demo.world import Demo  # noqa: E402
from sandbox.rapidworkers import HOSTILE_PROOF  # noqa: E402
from storage import forensics as proof_store  # noqa: E402
from storage import submissions as subs  # noqa: E402
from tests.support.harness import wait_for  # noqa: E402

FLAG_MARKS = (":warning:", ":rotating_light:")


def flagged(message) -> bool:
    """The card shows a flags section (bot/review/blocks.py puts it near the top)."""
    return any(b["type"] == "section" and "text" in b and b["text"]["text"].startswith(FLAG_MARKS) for b in message.blocks)


def planted(demo: Demo, sid: int, seen_pictures: set[int]) -> str | None:
    """Which problem the demo planted in this submission, or None (honest)."""
    rw, settings = demo.rapidworkers, demo.settings
    sub = rw._subs[sid]
    worker = rw._workers[sub["worker_id"]]
    picture = sub["pictures"][0][0] if sub["pictures"] else None
    if picture is not None and picture in seen_pictures:
        return "reused screenshot"
    if sub["proof_text"] == HOSTILE_PROOF:
        return "hostile text"
    if worker["account_age_days"] < settings.new_account_days or worker["approval_rate"] < settings.low_approval_rate:
        return "new or poorly rated"
    return None


def run(count: int) -> dict:
    demo = Demo(lively=False, poll_seconds=3600).start()
    try:
        review = demo._serving.features.review
        wait_for(lambda: review.checks is None or review.checks.wait(1), timeout=120)
        rw = demo.rapidworkers
        seen = {s["pictures"][0][0] for s in rw._subs.values() if s["pictures"]}
        kinds: dict[int, str | None] = {}
        for _ in range(count):
            sid = demo.add_submission()
            if sid is None:
                break
            kinds[sid] = planted(demo, sid, seen)
            seen.update(p[0] for p in rw._subs[sid]["pictures"])
            review.sync()  # one at a time, as the demo's stream arrives: cards, not batch messages
        assert review.checks is None or review.checks.wait(300)
        rows = {sid: subs.get(review.db, sid) for sid in kinds}
        # A reused screenshot can be found only when the bot checked the submission it came from
        # (the demo also reuses pictures of decided history and of other people's campaigns).
        owner = {}
        for other in sorted(rw._subs):
            for key, _ in rw._subs[other]["pictures"]:
                owner.setdefault(key, other)
        findable = {sid for sid, problem in kinds.items() if problem == "reused screenshot"
                    and proof_store.stored_flags(review.db, owner[rw._subs[sid]["pictures"][0][0]]) is not None}
        cards = {sid: demo.slack.message(row.channel, row.ts) for sid, row in rows.items()
                 if row and row.ts and row.batch_row is None}
    finally:
        demo.stop()
    honest = [sid for sid, problem in kinds.items() if problem is None and sid in cards]
    bad = [sid for sid, problem in kinds.items() if problem is not None and sid in cards]
    honest_flagged = sum(flagged(cards[s]) for s in honest)
    planted_flagged = sum(flagged(cards[s]) for s in bad)
    share = honest_flagged / len(honest) if honest else 0.0
    print(f"Demo stream: {len(cards)} cards posted of {len(kinds)} submissions ({len(bad)} planted, {len(honest)} honest)")
    rows = [["honest", len(honest), honest_flagged, f"{share * 100:.1f} %", verdict(share <= 0.05)]]
    for problem in sorted({p for p in kinds.values() if p}):
        of_kind = [s for s in bad if kinds[s] == problem]
        hit = sum(flagged(cards[s]) for s in of_kind)
        rows.append([f"planted: {problem}", len(of_kind), hit, f"{hit * 100 / max(1, len(of_kind)):.1f} %", ""])
    if findable:
        hit = sum(flagged(cards[s]) for s in findable if s in cards)
        rows.append(["  of which the bot checked the original", len(findable), hit, f"{hit * 100 / len(findable):.1f} %", ""])
    print(table(["cards", "count", "flagged", "share", "target"], rows))
    return {"honest": len(honest), "honest_flagged": honest_flagged, "planted": len(bad), "planted_flagged": planted_flagged}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=120)
    args = parser.parse_args(argv)
    run(args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
