"""Does the local broker slow down as it fills? tansu's CPU per time window, producing only and consuming too.

The paced runs of ``streams bench`` come after its flood, on the same broker, and each leaves thousands
of small record batches behind it. This measures what that history costs the broker, side by side in
one run: a fresh tansu (memory storage, as ``streams dev``, the tests and the bench run it) takes
``--rate`` messages a second of ``--value-bytes`` each from a kafka-python producer (linger 5 ms, as the
bench's paced producer) into a topic of 4 partitions, for ``--windows`` windows of ``--seconds`` each;
first with nobody reading, then on a second fresh broker with one consumer reading as it arrives
(fetch wait 25 ms, the worker's default). Each window prints the broker's CPU as a share of one core
(``/proc``) and the messages the consumer read in it.

    .venv/bin/python benchmarks/broker_history.py
    .venv/bin/python benchmarks/broker_history.py --rate 500 --windows 8

Not part of the test suite (it measures).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TOPIC = "history"


class Reader(threading.Thread):
    """One kafka-python consumer in a group, counting what it reads."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.read = 0
        self.assigned = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            TOPIC,
            bootstrap_servers=self.bootstrap,
            group_id="history",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=25,
        )
        try:
            while not self.stopping.is_set():
                batches = consumer.poll(100)
                self.read += sum(len(records) for records in batches.values())
                if consumer.assignment():
                    self.assigned.set()
        finally:
            consumer.close()


def measure(
    consume: bool, rate: float, value_bytes: int, windows: int, seconds: float
) -> list[dict[str, Any]]:
    """Broker CPU per window on a fresh broker, with or without a consumer."""
    from kafka import KafkaProducer

    from streams.tools.bench import process_cpu_seconds
    from streams.tools.localstack import create_topics, start_broker

    rows = []
    with tempfile.TemporaryDirectory(prefix="streams-history-") as tmp, start_broker(Path(tmp)) as broker:
        create_topics(broker.bootstrap, [TOPIC], 4)
        reader = Reader(broker.bootstrap) if consume else None
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5, acks="all")
        try:
            if reader:
                reader.start()
                while not reader.assigned.wait(0.2):  # the group must be joined before the clock starts
                    producer.send(TOPIC, value=b"warm-up")
            value = b"x" * value_bytes
            sent = 0
            start = time.perf_counter()
            for window in range(windows):
                cpu_before, read_before = process_cpu_seconds(broker.pid), reader.read if reader else 0
                window_start = time.perf_counter()
                while time.perf_counter() < window_start + seconds:
                    delay = start + sent / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    producer.send(TOPIC, value=value)
                    sent += 1
                elapsed = time.perf_counter() - window_start
                rows.append({
                    "consumer": consume,
                    "window": window,
                    "messages_held": sent,
                    "broker_core_share": round((process_cpu_seconds(broker.pid) - cpu_before) / elapsed, 3),
                    "read_in_window": (reader.read - read_before) if reader else None,
                })  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
        finally:
            producer.close(10)
            if reader:
                reader.stopping.set()
                reader.join(10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="messages per second (default 1000)")
    parser.add_argument("--value-bytes", type=int, default=4600, help="bytes per message (default 4600)")
    parser.add_argument("--windows", type=int, default=5, help="measured windows per broker (default 5)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per window (default 10)")
    args = parser.parse_args()
    for consume in (False, True):
        measure(consume, args.rate, args.value_bytes, args.windows, args.seconds)


if __name__ == "__main__":
    main()
