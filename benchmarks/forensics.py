"""Proof forensics: duplicate-flag precision/recall, hashing CPU, look-up time, idle RSS.

1. Corpus: `--bases` synthetic screenshots (bot.sandbox_images, 540x1170,
   20 app templates, so every image has dozens of distinct images of the
   same layout) and `--variants` near-duplicates of each (JPEG quality
   40-95, resized 80-120 %, cropped up to 5 %, brightness ±10 %). Every
   pair of images is judged by the shipped thresholds (and a grid around
   them): a pair from the same base is a true duplicate. Reports pair
   precision and recall. Target: recall >= 0.95 at precision >= 0.99.
2. CPU per 1080x2340 screenshot, from encoded bytes (PNG and JPEG) to both
   hashes, no download. Target <= 50 ms.
3. Look-up among `--stored` hashes loaded from SQLite (storage.forensics):
   load time and per-query time. Target <= 10 ms.
4. Idle VmRSS of `gigdesk serve` with forensics on, after its start-up sync
   checked `--serve-count` submissions (2 images each). Target < 80 MB.
5. Copied proof text (benchmarks/forensics_text.py): honest workers sharing stock phrases,
   copy rings sharing distinctive text; precision and recall of the flag. Target precision
   >= 0.98 at recall >= 0.9. `--text-only` runs this part alone.

    python benchmarks/forensics.py [--bases 600] [--variants 3] [--stored 100000] [--serve-count 200] [--text-only]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import forensics_text  # noqa: E402
from _common import kib_to_mib, proc_status, review_ids, serving, simulators, table, verdict  # noqa: E402

from bot.forensics.hashing import hash_bytes, to_signed  # noqa: E402
from bot.forensics.service import MAX_DHASH_DISTANCE, MAX_PHASH_DISTANCE  # noqa: E402
from sandbox.images import encode, near_duplicate, screenshot  # noqa: E402

TEMPLATES = 20


def corpus(bases: int, variants: int, size=(540, 1170)):
    """(base id, pHash, dHash) of every image, and the CPU seconds spent hashing."""
    rows, hashing = [], 0.0
    rng = random.Random(2026)
    for base in range(bases):
        img = screenshot(base, template=base % TEMPLATES, size=size)
        encoded = [encode(img, "PNG")] + [near_duplicate(img, rng)[0] for _ in range(variants)]
        for data in encoded:
            started = time.process_time()
            h = hash_bytes(data)
            hashing += time.process_time() - started
            rows.append((base, h.phash, h.dhash))
    return rows, hashing


def pair_distances(rows):
    """Upper-triangle pairs: (same base?, same template?, pHash distance, dHash distance) as arrays."""
    import numpy as np

    base = np.array([r[0] for r in rows])
    ph = np.array([r[1] for r in rows], dtype=np.uint64)
    dh = np.array([r[2] for r in rows], dtype=np.uint64)
    i, j = np.triu_indices(len(rows), k=1)
    return (
        base[i] == base[j],
        (base[i] % TEMPLATES) == (base[j] % TEMPLATES),
        np.bitwise_count(ph[i] ^ ph[j]),
        np.bitwise_count(dh[i] ^ dh[j]),
    )


def score(same, pd, dd, max_p, max_d):
    flagged = (pd <= max_p) & (dd <= max_d)
    tp = int((flagged & same).sum())
    fp = int((flagged & ~same).sum())
    fn = int((~flagged & same).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, fp, fp / max(1, int((~same).sum()))


def hashing_speed(count: int) -> dict:
    out = {}
    for fmt in ("PNG", "JPEG"):
        samples = []
        for n in range(count):
            data = encode(screenshot(10_000 + n), fmt, 85)
            started = time.process_time()
            hash_bytes(data)
            samples.append((time.process_time() - started) * 1000)
        out[fmt] = (statistics.median(samples), max(samples))
    return out


def lookup_speed(stored: int, queries: int) -> dict:
    from bot.forensics.index import HashIndex
    from storage import forensics as store
    from storage.db import Store

    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="gigdesk-bench-") as workdir:
        db = Store(os.path.join(workdir, "gigdesk.db")).db
        started = time.perf_counter()
        per_check = 5
        for sid in range(stored // per_check):
            images = [{"image_no": n, "phash": to_signed(rng.getrandbits(64)), "dhash": to_signed(rng.getrandbits(64))} for n in range(1, per_check + 1)]
            store.save_check(db, sid + 1, worker_id=str(sid % 997), submitted_at=None, text_fingerprint=None, images=images, flags=[])
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        index = HashIndex()
        index.extend(store.hashes_since(db, 0))
        load_s = time.perf_counter() - started
        samples, found = [], 0
        for _ in range(queries):
            q_p, q_d = rng.getrandbits(64), rng.getrandbits(64)
            started = time.perf_counter()
            found += len(index.near(q_p, q_d, max_phash=MAX_PHASH_DISTANCE, max_dhash=MAX_DHASH_DISTANCE))
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"stored": len(index), "write_s": write_s, "load_s": load_s, "median_ms": statistics.median(samples),
            "p99_ms": samples[int(len(samples) * 0.99) - 1], "false_hits": found}


def serve_rss(count: int, idle_seconds: float) -> dict:
    with simulators() as (sandbox, slack, workdir):
        cid = sandbox.add_campaign("Forensics footprint", status="Active", total=count)
        for n in range(count):
            sandbox.add_submission(cid, proof_text=f"proof number {n} for the footprint run", images=2)
        with serving(slack, sandbox, workdir, count, GIGDESK_FORENSICS="on") as (proc, _, startup):
            time.sleep(idle_seconds)
            status = proc_status(proc.pid)
        return {"submissions": len(set(review_ids(slack))), "rss_mib": kib_to_mib(status["VmRSS"]),
                "peak_mib": kib_to_mib(status["VmHWM"]), "startup_s": round(startup, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", type=int, default=600)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--speed-images", type=int, default=20)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--serve-count", type=int, default=200)
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--text-only", action="store_true", help="only the copied-text part")
    parser.add_argument("--campaigns", type=int, default=40, help="campaigns of the copied-text corpus")
    args = parser.parse_args(argv)

    text = forensics_text.run(args.campaigns, seed=7)
    print()
    if args.text_only:
        return 0

    rows, hash_cpu = corpus(args.bases, args.variants)
    same, same_template, pd, dd = pair_distances(rows)
    negatives = int((~same).sum())
    print(f"Corpus: {len(rows)} images ({args.bases} screenshots x (1 + {args.variants} near-duplicates)), "
          f"{int(same.sum())} duplicate pairs, {negatives} distinct pairs "
          f"({int((~same & same_template).sum())} of the same layout); hashing {hash_cpu * 1000 / len(rows):.1f} ms CPU/image")
    grid = []
    for max_p in (6, 8, 10, 12, 14, 16):
        for max_d in (64, 10, 14, 18):
            precision, recall, fp, rate = score(same, pd, dd, max_p, max_d)
            shipped = "<- shipped" if (max_p, max_d) == (MAX_PHASH_DISTANCE, MAX_DHASH_DISTANCE) else ""
            grid.append([max_p, "any" if max_d == 64 else max_d, f"{precision:.4f}", f"{recall:.4f}", fp, f"{rate * 100_000:.3f}", shipped])
    precision, recall, fp, rate = score(same, pd, dd, MAX_PHASH_DISTANCE, MAX_DHASH_DISTANCE)
    if (MAX_PHASH_DISTANCE, MAX_DHASH_DISTANCE) not in [(r[0], r[1]) for r in grid]:
        grid.append([MAX_PHASH_DISTANCE, MAX_DHASH_DISTANCE, f"{precision:.4f}", f"{recall:.4f}", fp, f"{rate * 100_000:.3f}", "<- shipped"])
    # The last column: expected false matches of one new image against 100,000 stored distinct ones.
    print(table(["pHash <=", "dHash <=", "precision", "recall", "false pairs", "false per 100k", ""], grid))
    neg_same = pd[~same & same_template]
    pos = pd[same]
    print(f"pHash distance: duplicates max {int(pos.max())} (p99 {int(sorted(pos)[int(len(pos) * 0.99)])}); "
          f"distinct same-layout min {int(neg_same.min())}; distinct any min {int(pd[~same].min())}")
    corpus_ok = recall >= 0.95 and precision >= 0.99
    print(f"Duplicate flag at shipped thresholds: precision {precision:.4f}, recall {recall:.4f}  "
          f"{verdict(corpus_ok)} (target recall >= 0.95 at precision >= 0.99)")

    speed = hashing_speed(args.speed_images)
    print(f"\nHashing one 1080x2340 screenshot from bytes (CPU, {args.speed_images} images each)")
    print(table(["format", "median ms", "max ms", "target"],
                [[fmt, f"{med:.1f}", f"{worst:.1f}", verdict(med <= 50)] for fmt, (med, worst) in speed.items()]))

    look = lookup_speed(args.stored, args.queries)
    print(f"\nLook-up among {look['stored']} stored hashes (numpy XOR + popcount; index loaded from SQLite)")
    print(table(["write s (setup)", "load s", "median ms", "p99 ms", "target"],
                [[f"{look['write_s']:.1f}", f"{look['load_s']:.2f}", f"{look['median_ms']:.3f}", f"{look['p99_ms']:.3f}", verdict(look["p99_ms"] <= 10)]]))

    serve = serve_rss(args.serve_count, args.idle)
    print(f"\nIdle `gigdesk serve` with forensics on, after checking and posting {serve['submissions']} submissions "
          f"(2 images each; start-up sync {serve['startup_s']} s)")
    print(table(["VmRSS MiB", "VmHWM MiB", "target"], [[serve["rss_mib"], serve["peak_mib"], verdict(serve["rss_mib"] < 80)]]))
    if args.json:
        print(json.dumps({"precision": precision, "recall": recall, "copied_text": text, "speed": speed, "lookup": look, "serve": serve}))
    ok = serve["submissions"] == args.serve_count
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
