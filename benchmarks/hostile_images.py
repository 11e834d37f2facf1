"""Hostile image hosts against a real `gigdesk serve`: card delay, memory of bombs, stop time.

1. Post delay: 100 honest submissions and 10 hostile ones among them (every 11th: 4 images
   dripped one byte a second, 3 connections accepted and never answered, 3 unreachable
   hosts). Each honest card's delay is the time from `serve`'s start to its post, in
   the stand-in. Target p99 <= 5 s.
2. Peak memory (VmHWM) of `serve` checking one bomb each: a 15,000 x 15,000 one-colour PNG,
   a 20,000 x 20,000 palette PNG, and a 6,300 x 6,300 one (under the old 40 MP cap). Each
   card must be posted. Target < 100 MiB.
3. Stop time: SIGTERM, then (another run) SIGINT, while an image drips into a check.
   Target <= 10 s, exit code 0.

`--bot-repo PATH` runs the bot code of another checkout (e.g. main, for before figures)
against this checkout's simulators. Unreachable hosts are a name whose DNS server never
answers (GIGDESK_PROOF_DNS) where the bot has that setting, else a loopback port whose
accept queue is full (connects never complete).

    python benchmarks/hostile_images.py [--honest 100] [--drip-seconds 20] [--bot-repo /work/main] [--only delay,memory,stop]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import kib_to_mib, percentile, proc_status, review_ids, simulators, table, verdict, wait_until  # noqa: E402

from sandbox.hostile import blackhole  # noqa: E402
from tests.support.harness import bot_env, free_port  # noqa: E402

DRIP, SILENT, HUGE, HUGE_PALETTE = -4, -5, -6, -7
MIB_TARGET = 100.0


def has_proof_dns(repo: Path) -> bool:
    return "GIGDESK_PROOF_DNS" in (repo / "bot" / "config.py").read_text()


@contextmanager
def serve(repo: Path, slack, sandbox, workdir: str, **overrides: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_"))}
    env.update(bot_env(slack, sandbox, os.path.join(workdir, "gigdesk.db"), PORT=str(free_port()),
                       GIGDESK_POLL_SECONDS="3600", GIGDESK_POST_INTERVAL_MS="0", **overrides))
    env["PYTHONPATH"] = str(repo)
    started = time.time()
    with open(Path(workdir, "serve.log"), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc, started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def post_times(slack) -> dict[int, float]:
    """submission id -> when its card was posted (the message's ts)."""
    from bot.slack import ids

    found = {}
    for m in slack.messages("C_REVIEW", include_replies=False):
        meta = m.metadata or {}
        if meta.get("event_type") == ids.SUBMISSION_EVENT:
            found[meta["event_payload"]["submission_id"]] = float(m.ts)
    return found


def delay(repo: Path, honest_count: int, drip_seconds: float) -> tuple[list[list[object]], bool]:
    with simulators() as (sandbox, slack, workdir), blackhole() as hole:
        sandbox.hostile_seconds = drip_seconds
        cid = sandbox.add_campaign("Hostile hosts", status="Active", pay="0.10", total=1000)
        overrides: dict[str, str] = {"GIGDESK_FORENSICS": "on", "GIGDESK_BATCH_ABOVE": "1000"}
        dns = None
        if has_proof_dns(repo):
            from sandbox.dns import DnsStandin

            dns = DnsStandin()
            dns.silence("unreachable.example.test")
            host, port = dns.start()
            overrides["GIGDESK_PROOF_DNS"] = f"{host}:{port}"
            unreachable = "http://unreachable.example.test/proof.png"
        else:
            unreachable = f"http://127.0.0.1:{hole}/proof.png"
        kinds = [DRIP] * 4 + [SILENT] * 3 + ["unreachable"] * 3
        honest: list[int] = []
        for n in range(honest_count + len(kinds)):
            if n % 11 == 5 and kinds:
                kind = kinds.pop(0)
                if kind == "unreachable":
                    sid = sandbox.add_submission(cid, pictures=[1])
                    sandbox.set_image_urls(sid, [unreachable])
                else:
                    sandbox.add_submission(cid, pictures=[kind])
            else:
                honest.append(sandbox.add_submission(cid, pictures=[9000 + n]))
        with serve(repo, slack, sandbox, workdir, **overrides) as (proc, started):
            wait_until(lambda: set(honest) <= set(post_times(slack)), timeout=900, interval=0.2)
            posted = post_times(slack)
            proc.send_signal(signal.SIGINT)
        if dns is not None:
            dns.stop()
    delays = [posted[s] - started for s in honest if s in posted]
    ok = len(delays) == len(honest) and percentile(delays, 99) <= 5.0
    return [[len(delays), f"{percentile(delays, 50):.2f}", f"{percentile(delays, 99):.2f}", f"{max(delays):.2f}", verdict(ok)]], ok


def memory(repo: Path) -> tuple[list[list[object]], bool]:
    from sandbox.images import solid_png

    rows, ok = [], True
    for label, pictures, extra in (("15,000 x 15,000 one colour", [HUGE], None),
                                   ("20,000 x 20,000 palette", [HUGE_PALETTE], None),
                                   ("6,300 x 6,300 one colour", [1], (6300, 6300))):
        if extra:
            solid_png(*extra)  # made before serve starts: not part of its memory
        with simulators() as (sandbox, slack, workdir):
            cid = sandbox.add_campaign("Bombs", status="Active", pay="0.10", total=10)
            sid = sandbox.add_submission(cid, pictures=pictures)
            if extra:
                sandbox.set_image_bytes(sid, 1, solid_png(*extra), "image/png")
            with serve(repo, slack, sandbox, workdir, GIGDESK_FORENSICS="on") as (proc, _):
                idle = None
                wait_until(lambda: review_ids(slack) or proc.poll() is not None, timeout=60, interval=0.05)
                if proc.poll() is None:
                    idle = kib_to_mib(proc_status(proc.pid)["VmRSS"])
                checked = wait_until(lambda sid=sid, proc=proc, workdir=workdir: _checked(workdir, sid) or proc.poll() is not None, timeout=120, interval=0.1)
                alive = proc.poll() is None
                peak = kib_to_mib(proc_status(proc.pid)["VmHWM"]) if alive else float("nan")
                detail = _checked(workdir, sid) if alive else "serve died"
                proc.send_signal(signal.SIGINT)
            posted = sid in review_ids(slack)
        good = alive and posted and bool(checked) and peak < MIB_TARGET
        ok = ok and good
        rows.append([label, idle, peak, "yes" if posted else "no", detail, verdict(good)])
    return rows, ok


def _checked(workdir: str, sid: int) -> str | None:
    """The recorded outcome of the submission's check ("hashed" or the reason), None until recorded."""
    import sqlite3

    try:
        with sqlite3.connect(os.path.join(workdir, "gigdesk.db"), timeout=5) as db:
            row = db.execute("SELECT phash, error FROM proof_images WHERE submission_id = ? AND image_no = 1", [sid]).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else ("hashed" if row[0] is not None else row[1])


def stop_time(repo: Path, drip_seconds: float) -> tuple[list[list[object]], bool]:
    rows, ok = [], True
    for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGINT", signal.SIGINT)):
        with simulators() as (sandbox, slack, workdir):
            sandbox.hostile_seconds = drip_seconds
            cid = sandbox.add_campaign("Drip", status="Active", pay="0.10", total=10)
            sandbox.add_submission(cid, pictures=[DRIP])
            with serve(repo, slack, sandbox, workdir, GIGDESK_FORENSICS="on") as (proc, _):
                wait_until(lambda: sandbox.image_requests or proc.poll() is not None, timeout=60, interval=0.05)
                time.sleep(1.0)  # well into the download
                sent = time.monotonic()
                proc.send_signal(sig)
                try:
                    code = proc.wait(timeout=drip_seconds + 30)
                except subprocess.TimeoutExpired:
                    code = None
                took = time.monotonic() - sent
            good = code == 0 and took <= 10.0
            ok = ok and good
            rows.append([name, f"{took:.1f}", code if code is not None else "still running (killed)", verdict(good)])
    return rows, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honest", type=int, default=100)
    parser.add_argument("--drip-seconds", type=float, default=20.0, help="how long a hostile image drips or stays silent")
    parser.add_argument("--bot-repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--only", default="delay,memory,stop")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    ok = True
    print(f"bot code: {args.bot_repo}")
    if "delay" in parts:
        rows, good = delay(args.bot_repo, args.honest, args.drip_seconds)
        ok &= good
        print(f"\nHonest cards' post delay from `serve`'s start, {args.honest} honest + 10 hostile (4 dripping, 3 silent, 3 unreachable)")
        print(table(["cards", "p50 s", "p99 s", "max s", "target p99 <= 5 s"], rows))
    if "memory" in parts:
        rows, good = memory(args.bot_repo)
        ok &= good
        print("\nPeak memory of `serve` checking one decompression bomb (VmHWM)")
        print(table(["image", "RSS after post MiB", "peak MiB", "card posted", "check", f"target < {MIB_TARGET:g} MiB"], rows))
    if "stop" in parts:
        rows, good = stop_time(args.bot_repo, args.drip_seconds + 40)
        ok &= good
        print("\nTime for `serve` to stop while an image drips into a check")
        print(table(["signal", "seconds", "exit code", "target <= 10 s, exit 0"], rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
