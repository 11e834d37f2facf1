"""Copied proof text: precision and recall of the flag on a synthetic campaign stream.

The corpus (seeded, `--campaigns` campaigns):
* honest workers, each submitting once per campaign they join, writing
  - a stock sentence from a shared list (with their own case, punctuation, spacing),
  - the campaign's own words echoed back ("Left a review for The Blue Anchor in Leeds"):
    distinctive words, but every worker of the campaign writes them,
  - a stock sentence with a personal detail (their handle, an order number),
  - their own words;
* copy rings of 2-3 accounts that send the same distinctive sentence (case, punctuation and
  spacing varied) to one or two campaigns.
Every submission goes through the shipped code (ProofForensics.record on a real SQLite
store, then flags_for as the card reads it). A positive is a ring submission whose text an
earlier submission of another ring account already used (the first use has nothing to be
copied from). Reported: at posting time (the flags the check recorded) and as the cards show
them at the end (stock phrases withdrawn once more workers use them), and the previous rule
(any text of 12+ characters that another worker sent before) on the same stream.
Target: precision >= 0.98 at recall >= 0.9.

    python benchmarks/forensics_text.py [--campaigns 40] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, verdict  # noqa: E402

from bot.forensics.flags import COPIED_TEXT  # noqa: E402
from bot.forensics.service import ProofForensics  # noqa: E402
from bot.forensics.text import TEMPLATES, normalise  # noqa: E402
from storage.db import Store  # noqa: E402

STOCK = [
    "All steps done, confirmation page attached.",
    "Followed the page, screenshot attached.",
    "Liked and followed. Thanks!",
    "Review posted with 5 stars, see screenshot",
    "Completed as requested, see the screenshot",
    "Done! Username is the same as here.",
    "Signed up and confirmed my email, proof attached",
    "Task finished, please check the attached screenshot",
    "I have completed the task as per the instructions",
    "Subscribed to the channel and liked the video",
    "Done, screenshot of my profile attached",
    "Retweeted and followed, proof in the picture",
    "Survey filled in, the confirmation code is in the screenshot",
    "Installed the app and signed up, screenshot attached",
    "Commented on the post as asked, see the picture",
    "Work done successfully, kindly approve",
    "Watched the full video and subscribed",
    "Visited the website and filled the form",
]
PLACES = ["The Blue Anchor", "Casa Lupita", "Nordic Bikes", "Harbour Dental", "Maple Street Books", "Kofi Corner",
          "Sunrise Yoga", "Pixel Repair", "Green Fork Bistro", "Atlas Movers"]
CITIES = ["Leeds", "Austin", "Lagos", "Pune", "Porto", "Cebu", "Krakow", "Nairobi", "Hanoi", "Quito"]
CAMPAIGN_ECHOES = [
    "Left a review for {place} in {city}",
    "Followed {place} on Instagram from {city}",
    "Signed up for the {place} newsletter",
    "Shared the {place} opening post",
]
FIRST = ["sam", "noor", "ivan", "mei", "luis", "ada", "kwame", "olga", "rahul", "ana", "tom", "lucia", "li", "ahmed"]
LAST = ["porter", "khan", "novak", "chen", "garcia", "okafor", "silva", "berg", "rossi", "tanaka", "mensah", "dubois"]
RING_LINES = [
    "Left a five star review as {first} {last}, loved the {thing} there",
    "My review is up under the name {first} {last} with a photo of the {thing}",
    "Followed as {first}{n} and commented about the {thing} on the latest post",
    "Ordered the {thing} and reviewed it, my receipt number is {n}{n2}",
    "Signed up as {first}.{last}{n} and shared the {thing} link with friends",
]
TITLES = ["{place} ({city}): leave a review", "Follow {place} - {city}", "{place} newsletter, {city} launch",
          "Share the {place} post ({city})"]
THINGS = ["lemon tart", "blue bike", "window seat", "chai latte", "garden terrace", "vinyl corner", "spicy ramen",
          "rooftop view", "retro arcade", "wood oven"]


@dataclass
class Sub:
    sid: int
    campaign: str
    worker: str
    text: str
    ring: int | None = None  # the copy ring that sent it
    title: str = ""


def _styled(rng: random.Random, text: str) -> str:
    """The same words as a person types them: case, punctuation and spacing vary."""
    choice = rng.random()
    if choice < 0.25:
        text = text.lower()
    elif choice < 0.35:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.rstrip(".!") + rng.choice(["!", "!!", " :)", "", "."])
    if rng.random() < 0.2:
        text = text.replace(", ", " ,  ")
    return text


def _own_words(rng: random.Random) -> str:
    return (f"{rng.choice(['Went', 'Popped', 'Stopped'])} by on {rng.choice(['Monday', 'Friday', 'Sunday'])}, "
            f"{rng.choice(FIRST)} at the counter said {rng.randint(10, 999)} people came today")


def _honest_text(rng: random.Random, echo: str, handle: str) -> str:
    kind = rng.random()
    if kind < 0.5:
        return _styled(rng, rng.choice(STOCK))
    if kind < 0.7:
        return _styled(rng, echo)
    if kind < 0.88:
        return f"{rng.choice(STOCK).rstrip('.!')}. My username is {handle}, order {rng.randint(1000, 99999)}"
    return _own_words(rng)


def _ring_text(rng: random.Random, ring: int) -> str:
    return rng.choice(RING_LINES).format(first=rng.choice(FIRST).title(), last=rng.choice(LAST).title(),
                                         thing=rng.choice(THINGS), n=ring, n2=rng.randint(100, 999))


def corpus(campaigns: int, seed: int) -> list[Sub]:
    """Honest and ring submissions across campaigns, in arrival order."""
    rng = random.Random(seed)
    honest = [f"h{n}_{rng.choice(FIRST)}" for n in range(600)]
    subs: list[Sub] = []
    ring_no = 0
    titles: dict[str, str] = {}
    for c in range(campaigns):
        cid = f"camp-{c}"
        place, city = rng.choice(PLACES), rng.choice(CITIES)
        echo = rng.choice(CAMPAIGN_ECHOES).format(place=place, city=city)
        title = rng.choice(TITLES).format(place=place, city=city)
        stream = [Sub(0, cid, w, _honest_text(rng, echo, w)) for w in rng.sample(honest, rng.randint(20, 70))]
        for _ in range(rng.randint(1, 3)):  # copy rings in this campaign
            ring_no += 1
            line = _ring_text(rng, ring_no)
            members = [f"ring{ring_no}_{m}" for m in range(rng.choice([2, 2, 3]))]
            stream += [Sub(0, cid, m, _styled(rng, line), ring=ring_no) for m in members]
            if rng.random() < 0.3 and c + 1 < campaigns:  # the ring works the next campaign too
                stream += [Sub(0, f"camp-{c + 1}", m, _styled(rng, line), ring=ring_no) for m in members]
        rng.shuffle(stream)
        titles[cid] = title
        subs += stream
    # campaigns overlap in time: interleave neighbours a little
    subs.sort(key=lambda s: int(s.campaign.split("-")[1]) + rng.random() * 1.5)
    for n, s in enumerate(subs, 1):
        s.sid, s.title = n, titles.get(s.campaign, "")
    return subs


def positives(subs: list[Sub]) -> set[int]:
    """Ring submissions whose text another account of the ring sent earlier."""
    seen: dict[tuple[int, str], set[str]] = {}
    out = set()
    for s in subs:
        if s.ring is None:
            continue
        key = (s.ring, normalise(s.text))
        if seen.get(key, set()) - {s.worker}:
            out.add(s.sid)
        seen.setdefault(key, set()).add(s.worker)
    return out


def previous_rule(subs: list[Sub]) -> set[int]:
    """The rule before this change: any 12+ character non-template text another worker sent before."""
    workers: dict[str, set[str]] = {}
    flagged = set()
    for s in subs:
        norm = normalise(s.text)
        if len(norm) < 12 or norm in TEMPLATES:
            continue
        if workers.get(norm, set()) - {s.worker}:
            flagged.add(s.sid)
        workers.setdefault(norm, set()).add(s.worker)
    return flagged


def shipped_rule(subs: list[Sub]) -> tuple[set[int], set[int]]:
    """(flagged when checked, flagged as the cards show it at the end), through the real code."""
    with tempfile.TemporaryDirectory(prefix="gigdesk-bench-") as workdir:
        store = Store(os.path.join(workdir, "gigdesk.db"))
        forensics = ProofForensics(lambda: store.db)
        at_check = set()
        for s in subs:
            report = forensics.record(s.sid, {"worker_id": s.worker, "campaign_id": s.campaign, "campaign_title": s.title,
                                             "proof_text": s.text}, [])
            if any(f.kind == COPIED_TEXT for f in report.flags):
                at_check.add(s.sid)
        at_end = {sid for sid in at_check if any(f.kind == COPIED_TEXT for f in forensics.flags_for(sid))}
    return at_check, at_end


def score(flagged: set[int], truth: set[int]) -> tuple[float, float, int]:
    tp = len(flagged & truth)
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(truth) if truth else 1.0
    return precision, recall, len(flagged - truth)


def run(campaigns: int, seed: int) -> dict:
    subs = corpus(campaigns, seed)
    truth = positives(subs)
    at_check, at_end = shipped_rule(subs)
    rows, out = [], {}
    for name, flagged in (("previous rule", previous_rule(subs)), ("shipped, when checked", at_check),
                          ("shipped, as cards show it", at_end)):
        precision, recall, false = score(flagged, truth)
        out[name] = (precision, recall)
        rows.append([name, len(flagged), false, f"{precision:.3f}", f"{recall:.3f}",
                     verdict(precision >= 0.98 and recall >= 0.9)])
    honest = sum(1 for s in subs if s.ring is None)
    print(f"Copied proof text: {len(subs)} submissions in {campaigns} campaigns ({honest} honest, "
          f"{len(subs) - honest} from {len({s.ring for s in subs if s.ring})} copy rings; {len(truth)} copies to find)")
    print(table(["rule", "flagged", "honest flagged", "precision", "recall", "target"], rows))
    print("target: precision >= 0.98 at recall >= 0.9")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    run(args.campaigns, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
