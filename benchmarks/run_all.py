"""Run every benchmark (`make bench`), each in its own process, and print their tables.

Default run: about 6-7 minutes on 2 cores (socket_reconnect with one drop per case here: about 2). For other sizes run one benchmark
alone, e.g. `python benchmarks/backlog_drain.py --rate 1` (Slack's real rate).

    python benchmarks/run_all.py [--only ack_latency,sync_cost]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["sync_cost", "ack_latency", "backlog_drain", "footprint", "forensics", "instant_state", "charts", "hostile_images",
              "beside_serve", "socket_reconnect", "replicas", "wonolo_poll"]
# Arguments for a shorter run than the benchmark's own default.
ARGS = {"socket_reconnect": ["--repeat", "1"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else BENCHMARKS
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    summary = []
    for name in chosen:
        print(f"\n=== {name} " + "=" * (60 - len(name)), flush=True)
        started = time.monotonic()
        # stderr (the bot's own log lines) is kept out of the tables; shown on failure.
        done = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *ARGS.get(name, [])], cwd=HERE.parent, capture_output=True,
                              text=True)
        print(done.stdout, end="", flush=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
        summary.append((name, done.returncode, time.monotonic() - started))
    print("\n=== summary " + "=" * 52)
    for name, code, seconds in summary:
        print(f"{name:<14} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:6.1f} s")
    print(f"{'total':<14} {'':<18} {sum(s for _, _, s in summary):6.1f} s")
    return 0 if all(code == 0 for _, code, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
