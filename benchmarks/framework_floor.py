"""How much of a worker's CPU is ours and how much is Faust, aiokafka and the broker: the framework floor.

Runs part 1 of ``streams bench`` (one worker, a flood of synthetic articles through a real tansu broker,
the same measurement of CPU per article by process) three times, with three kinds of worker:

* ``full``: the real ``streams worker``;
* ``prepare``: the real parse, clean and fingerprint, but no index call: every message is then published
  as a rejection (so the publish path stays, with a payload of the same size);
* ``none``: no work at all: every message is published as a rejection at once.

``none`` is the floor (consume, publish, wait for the acks, commit); ``prepare`` minus ``none`` is what
the text work costs inside a worker; ``full`` minus ``prepare`` is the index call and the decision.

    .venv/bin/python benchmarks/framework_floor.py            # 8,000 articles per kind of worker
    .venv/bin/python benchmarks/framework_floor.py -n 4000 --kinds none,full

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


def measure(kind: str, n: int) -> dict[str, Any]:
    """Part 1 of the bench (one worker, flood only) with the given kind of worker."""
    from rich.progress import Progress

    from streams import bench, cli
    from streams.settings import Settings

    if kind != "full":

        def start(self: cli.WorkerProcess) -> cli.WorkerProcess:
            log = self.log_path.open("ab")
            command = [sys.executable, __file__, "--worker", kind, "worker", "-l", "info"]
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and file)
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
            return self

        cli.WorkerProcess.start = start  # type: ignore[method-assign]
    flood = bench.synthetic_items(n, seed=1)
    with Progress() as bar:
        result = bench.run_end_to_end(
            Settings(),
            1,
            flood,
            lambda k: bench.synthetic_items(k, seed=2, prefix="paced-"),
            2.0,
            Path(tempfile.mkdtemp(prefix="streams-floor-")),
            bar,
        )
    flood_result = result["max_rate"]
    return {key: flood_result[key] for key in ("articles_per_s", "cpu_us_per_article")}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        run_stripped_worker(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--articles", type=int, default=8000, help="articles per flood (default 8000)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="kinds of worker to run (none,prepare,full)")
    options = parser.parse_args()
    results = {}
    for kind in options.kinds.split(","):
        if kind not in KINDS:
            parser.error(f"unknown kind {kind!r}: choose from {', '.join(KINDS)}")
        # Each kind in a fresh process: the bench patches the worker launcher.
        code = (
            f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import framework_floor; "
            f"print(json.dumps(framework_floor.measure({kind!r}, {options.articles})))"
        )
        run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)  # noqa: S603
        output = run.stdout.strip().splitlines()[-1]
        results[kind] = json.loads(output)
    print("| worker | articles/s | worker CPU us/article | broker | Redis | bench (producer, reader) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, result in results.items():
        cpu = result["cpu_us_per_article"]
        print(
            f"| {kind} | {result['articles_per_s']:,.0f} | {cpu['workers']:,.0f} | {cpu['broker']:,.0f} "
            f"| {cpu['redis']:,.0f} | {cpu['bench_producer_and_reader']:,.0f} |"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
