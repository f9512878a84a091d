"""What the bench's load generator costs: the producer's and the broker's CPU per message, by client.

``streams bench`` produces its articles on the same two cores as the pipeline it measures, so the
producer's own CPU is taken from the workers, the broker and Redis. This paces ``--rate`` messages a
second of ``--value-bytes`` each (about an article's JSON) for ``--seconds`` into a fresh tansu (memory
storage, 4 partitions), once per client and round, alternated, through the bench's own producer
classes at the paced rate's settings (acks all, linger 5 ms, keyed), and prints the producer's CPU
per message (this process's user+system time, every thread) and the broker's (``/proc``):

* ``confluent-kafka`` (librdkafka; what ``streams bench`` uses by default),
* ``kafka-python`` (what it used before; ``streams bench --producer kafka-python``),
* ``aiokafka`` (what the workers publish with).

    .venv/bin/python benchmarks/producers.py
    .venv/bin/python benchmarks/producers.py --rate 1000 --rounds 3

Not part of the test suite (it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streams.tools.bench import PRODUCERS, Item, make_producer, paced, process_cpu_seconds
from streams.tools.localstack import create_topics, start_broker

TOPIC = "raw"


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_bench_producer(kind: str) -> Callable[[str, int, float, bytes], None]:
    """The bench's own producer class of that kind (``streams.tools.bench.make_producer``), as it paces."""

    def run(bootstrap: str, count: int, rate: float, value: bytes) -> None:
        producer = make_producer(kind, bootstrap, TOPIC, linger_ms=5)
        items = [Item(b"k%d" % i, value, f"k{i}", False) for i in range(count)]
        for item in paced(items, rate):
            producer.send(item)
        producer.close()
        if producer.failed:
            raise SystemExit(f"{kind}: {producer.failed} messages were not delivered")

    return run


def run_aiokafka(bootstrap: str, count: int, rate: float, value: bytes) -> None:
    from aiokafka import AIOKafkaProducer

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1 << 20,
            max_request_size=8 << 20,
        )  # fmt: skip
        await producer.start()
        try:
            start = time.perf_counter()
            pending = []
            for i in range(count):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                pending.append(
                    await producer.send(TOPIC, value, key=b"k%d" % i, timestamp_ms=int(time.time() * 1000))
                )
            await asyncio.gather(*pending)
        finally:
            await producer.stop()

    asyncio.run(run())


RUNNERS: dict[str, Callable[[str, int, float, bytes], None]] = {
    **{kind: run_bench_producer(kind) for kind in PRODUCERS},
    "aiokafka": run_aiokafka,
}


def measure(client: str, rate: float, seconds: float, value: bytes) -> dict[str, float]:
    count = int(rate * seconds)
    with tempfile.TemporaryDirectory(prefix="producers-") as tmp, start_broker(Path(tmp)) as broker:
        create_topics(broker.bootstrap, [TOPIC], 4)
        own, broker_cpu, started = own_cpu_seconds(), process_cpu_seconds(broker.pid), time.perf_counter()
        RUNNERS[client](broker.bootstrap, count, rate, value)
        elapsed = time.perf_counter() - started
        own_used = own_cpu_seconds() - own
        broker_used = process_cpu_seconds(broker.pid) - broker_cpu
    return {
        "messages": count,
        "seconds": round(elapsed, 2),
        "producer_us_per_message": round(own_used / count * 1e6, 1),
        "broker_us_per_message": round(broker_used / count * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=350.0, help="messages a second (default 350)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per client and round (default 10)")
    parser.add_argument("--value-bytes", type=int, default=4600, help="message size (default 4600)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds (default 2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    value = os.urandom(args.value_bytes // 2).hex().encode()
    results = []
    for round_no in range(1, args.rounds + 1):
        for client in RUNNERS:
            row = {"round": round_no, "client": client, **measure(client, args.rate, args.seconds, value)}
            results.append(row)
            if not args.json:
                print(
                    f"round {round_no}  {client:16s} {row['messages']:>6} messages in {row['seconds']:5.1f} s"
                    f"  producer {row['producer_us_per_message']:7.1f} us/message"
                    f"  broker {row['broker_us_per_message']:7.1f} us/message",
                    flush=True,
                )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
