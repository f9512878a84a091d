"""``streams dedup`` the command against datasketch used well, on the same file and the same Redis.

One ``redis-server`` on a free port, warmed by one unreported run of each (on this machine a Redis that
has not yet grown its memory makes the baseline, whose storage writes many small keys, a third slower).
Then each round runs, on an emptied Redis and in alternating order, the ``streams dedup`` command (a
process of its own, as a user runs it, with ``--redis-url``) and the datasketch baseline used well
(``streams.tools.evaluation.WellUsedPipeline``: ``update_batch``, ``MinHashLSH`` with its Redis storage
and an ``insertion_session``, as ``streams bench`` part 5 runs it, in this process). Reported per round:
the command's own decision rate (what it prints: decisions over the time from its first batch to its
last decision), the rate over the command's whole run (the process started, its imports, reading the
file and writing the decisions included), the baseline's rate (its ``MinHashLSH`` built before the
clock, as the command's index is opened before its clock), and the ratios::

    .venv/bin/python benchmarks/dedup_vs_datasketch.py --input ../shared/data/dev.jsonl --rounds 3

Not part of the test suite (it measures).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from rich.progress import Progress

from streams.tools.bench import file_items, measure_naive, sync_redis
from streams.tools.localstack import start_redis

_PRINTED = re.compile(r"(\d+) decisions in [\d.]+s \(([\d,]+)/s\)")


def run_command(path: Path, redis_url: str, workdir: Path) -> dict[str, float]:
    """``streams dedup`` as a user runs it: its printed decision rate and its whole run's rate."""
    client = sync_redis(redis_url)
    client.flushall()
    client.close()
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  # this interpreter, our own command
        [sys.executable, "-m", "streams", "dedup", "--input", str(path),
         "--output", str(workdir / "decisions.jsonl"), "--redis-url", redis_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    whole = time.perf_counter() - started
    found = _PRINTED.search(done.stdout)
    if found is None:
        raise SystemExit(f"streams dedup printed no rate:\n{done.stdout}\n{done.stderr}")
    decisions = int(found.group(1))
    return {
        "decisions": decisions,
        "rate": float(found.group(2).replace(",", "")),
        "whole_rate": decisions / whole,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, required=True, help="JSONL articles (labels are ignored)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lines = [line for line in args.input.read_bytes().splitlines() if line.strip()]
    items = file_items(args.input, len(lines))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, start_redis(Path(tmp) / "redis") as server:
        url = f"redis://127.0.0.1:{server.port}/0"

        def baseline() -> float:
            with Progress(transient=True) as bar:
                return float(measure_naive(url, items, bar, well_used=True)["articles_per_s"])

        run_command(args.input, url, Path(tmp))  # warm-ups, not reported
        baseline()
        for round_ in range(1, args.rounds + 1):
            if round_ % 2:
                ours, well = run_command(args.input, url, Path(tmp)), baseline()
            else:
                well, ours = baseline(), run_command(args.input, url, Path(tmp))
            rows.append((ours, well))
            print(
                f"round {round_}: streams dedup {ours['rate']:,.0f} decisions/s "
                f"({ours['whole_rate']:,.0f}/s over its whole run), datasketch used well "
                f"{well:,.0f}/s: {ours['rate'] / well:.1f}x ({ours['whole_rate'] / well:.1f}x)"
            )
    ratio = median(o["rate"] / w for o, w in rows)
    whole = median(o["whole_rate"] / w for o, w in rows)
    print(f"median over {len(rows)} rounds: {ratio:.1f}x the baseline ({whole:.1f}x over the whole run)")


if __name__ == "__main__":
    main()
