"""How much of a worker's CPU is ours and how much is Faust, aiokafka and the broker: the framework floor.

Runs part 1 of ``streams bench`` (one worker, or ``--workers N``: a flood of synthetic articles through a
real tansu broker, then fresh articles paced at half the flood's rate, the same measurement of CPU per
article by process) three times, with three kinds of worker:

* ``full``: the real ``streams worker``;
* ``prepare``: the real parse, clean and fingerprint, but no index call: every message is then published
  as a rejection (so the publish path stays, with a payload of the same size);
* ``none``: no work at all: every message is published as a rejection at once.

``none`` is the floor (consume, publish, wait for the acks, commit); ``prepare`` minus ``none`` is what
the text work costs inside a worker; ``full`` minus ``prepare`` is the index call and the decision. The
paced run says the same of small batches, where the per-fetch and per-request costs are shared by few
articles (its rate is half of each kind's own flood, so the kinds are paced at different rates).

    .venv/bin/python benchmarks/framework_floor.py            # 8,000 articles per kind of worker
    .venv/bin/python benchmarks/framework_floor.py -n 4000 --kinds none,full --paced-seconds 5
    .venv/bin/python benchmarks/framework_floor.py --kinds none --workers 2   # the floor of two workers

Not part of the test suite (it measures), and not of the package (its workers are stripped down).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

KINDS = ("none", "prepare", "full")


def run_stripped_worker(kind: str, faust_args: list[str]) -> None:
    """Run the Faust app with its prepare step replaced (``none``) or its index call skipped (``prepare``)."""
    from streams import agents
    from streams.models import Rejection

    real_prepare = agents.DedupWorker.prepare

    async def prepare(self: agents.DedupWorker, messages: Any) -> list[Any]:
        if kind == "prepare":
            await real_prepare(self, messages)
        return [
            Rejection(error="internal_error", message=f"{kind} worker", raw=payload, position=position)
            for payload, position in messages
        ]

    agents.DedupWorker.prepare = prepare  # type: ignore[method-assign]
    from streams.app import app

    sys.argv = [sys.argv[0], *faust_args]
    app.main()


def measure(kind: str, n: int, paced_seconds: float, workers: int = 1) -> dict[str, Any]:
    """Part 1 of the bench with the given kind of worker: its flood and its paced run."""
    from rich.progress import Progress

    from streams.settings import Settings
    from streams.tools import bench, localstack

    if kind != "full":

        def start(self: localstack.WorkerProcess) -> localstack.WorkerProcess:
            log = self.log_path.open("ab")
            command = [sys.executable, __file__, "--worker", kind, "worker", "-l", "info"]
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and file)
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
            return self

        localstack.WorkerProcess.start = start  # type: ignore[method-assign]
    flood = bench.synthetic_items(n, seed=1)
    with Progress() as bar:
        result = bench.run_end_to_end(
            Settings(),
            workers,
            flood,
            lambda k: bench.synthetic_items(k, seed=2, prefix="paced-"),
            paced_seconds,
            Path(tempfile.mkdtemp(prefix="streams-floor-")),
            bar,
        )
    return {
        run: {key: result[run][key] for key in ("articles_per_s", "cpu_us_per_article", "latency_ms")}
        for run in ("max_rate", "half_rate")
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        run_stripped_worker(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--articles", type=int, default=8000, help="articles per flood (default 8000)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="kinds of worker to run (none,prepare,full)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 9),
        metavar="N",
        help="worker processes (default 1)",
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=10.0, help="seconds at half the flood's rate (default 10)"
    )
    options = parser.parse_args()
    results = {}
    for kind in options.kinds.split(","):
        if kind not in KINDS:
            parser.error(f"unknown kind {kind!r}: choose from {', '.join(KINDS)}")
        # Each kind in a fresh process: the bench patches the worker launcher.
        code = (
            f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import framework_floor; "
            f"print(json.dumps(framework_floor.measure({kind!r}, {options.articles}, "
            f"{options.paced_seconds}, {options.workers})))"
        )
        child = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)  # noqa: S603
        output = child.stdout.strip().splitlines()[-1]
        results[kind] = json.loads(output)
    print(
        "| worker | run | articles/s | p50 / p99 ms | worker CPU us/article | broker | Redis "
        "| bench (producer, reader) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, result in results.items():
        for run, label in (("max_rate", "flood"), ("half_rate", "paced at half")):
            cpu, latency = result[run]["cpu_us_per_article"], result[run]["latency_ms"]
            print(
                f"| {kind} | {label} | {result[run]['articles_per_s']:,.0f} "
                f"| {latency['p50']:,.0f} / {latency['p99']:,.0f} | {cpu['workers']:,.0f} "
                f"| {cpu['broker']:,.0f} | {cpu['redis']:,.0f} | {cpu['bench_producer_and_reader']:,.0f} |"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
