"""The worker's fetch wait (``STREAMS_BROKER_FETCH_MAX_WAIT_MS``) on each broker: latency and idle CPU.

tansu answers a fetch only when its wait is over, so the worker waits at most 25 ms by default
(``streams.app.limit_fetch_wait``); Apache Kafka answers as soon as a record arrives. For each broker and
each wait, one worker joins (the bench's warm-up), sits idle for ``--idle-seconds`` (the worker's and
the broker's CPU then: the cost of empty fetches), then takes ``--rate`` articles a second for
``--seconds`` (latency from the Kafka timestamps, produce to decision, as ``streams bench``).

    .venv/bin/python benchmarks/fetch_wait.py
    .venv/bin/python benchmarks/fetch_wait.py --brokers kafka --waits 25,500,1500

Not part of the test suite (it measures).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

from rich.progress import Progress

from streams.settings import Settings
from streams.tools.bench import (
    DecisionReader,
    StackProcesses,
    bench_settings,
    run_paced,
    synthetic_items,
    wait_for_workers,
)
from streams.tools.localstack import (
    BrokerKind,
    create_settings_topics,
    start_broker,
    start_redis,
    start_worker,
)


def one_run(kind: BrokerKind, wait_ms: int, args: argparse.Namespace, bar: Progress) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fetch-wait-") as tmp:
        workdir = Path(tmp)
        with start_broker(workdir, kind=kind) as broker, start_redis(workdir) as redis:
            tag = uuid.uuid4().hex[:6]
            settings = bench_settings(Settings(), broker, redis, 10_000, tag).model_copy(
                update={"topic_partitions": 4, "broker_fetch_max_wait_ms": wait_ms}
            )
            create_settings_topics(broker, settings)
            worker = start_worker(settings, workdir / "worker.log")
            port = cast(int, worker.web_port)
            reader = DecisionReader(broker.bootstrap, settings)
            reader.start()
            try:
                pid = worker.process.pid if worker.process else None
                stack = StackProcesses(broker.pid, redis.pid, [pid])
                wait_for_workers(broker.bootstrap, settings, [port], [worker], reader, bar)
                before = stack.cpu()
                time.sleep(args.idle_seconds)
                after = stack.cpu()
                idle = {
                    name: round((after[name] - before[name]) / args.idle_seconds * 100, 1)
                    for name in ("workers", "broker")
                }
                items = synthetic_items(int(args.rate * args.seconds), seed=7, prefix=f"fw-{tag}-")
                paced = run_paced(
                    broker.bootstrap, settings.topic_raw, items, args.rate, reader, bar, 1, stack
                )
            finally:
                reader.stop()
                worker.stop()
    return {
        "broker": kind,
        "fetch_wait_ms": wait_ms,
        "idle_cpu_percent_of_a_core": idle,
        "paced_latency_ms": paced["latency_ms"],
        "paced_cpu_us_per_article": {k: paced["cpu_us_per_article"][k] for k in ("workers", "broker")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--brokers", default="tansu,kafka")
    parser.add_argument("--waits", default="25,500")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    results = []
    with Progress(transient=True) as bar:
        for kind in args.brokers.split(","):
            for wait in args.waits.split(","):
                results.append(one_run(cast(BrokerKind, kind), int(wait), args, bar))
                print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
