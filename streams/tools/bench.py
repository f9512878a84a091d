"""``streams bench``: throughput, latency, stage costs, index memory and growth, beside the naive baseline.

The bench starts its own broker (the embedded tansu by default; Apache Kafka with ``--broker kafka``, or
both, one after the other, with ``--broker both``) and redis-server on free ports (it empties that Redis
between parts, so it never touches a Redis of yours) and measures five things on the same articles:

1. **End to end** through the broker and ``streams worker`` processes: the workers are started and
   the bench waits until every one of them has been assigned partitions and decided warm-up articles;
   then it produces N articles as fast as it can into ``articles.raw`` (one process, librdkafka by default,
   its own CPU included in the machine's load) and reads every decision back from the output topics.
   Throughput is N / (last decision's timestamp - first article's timestamp); latency is, per article,
   the output record's timestamp minus the input record's (both Kafka CreateTime on this machine's
   clock). Then it produces fresh articles at half that rate for ``--paced-seconds`` and reports the
   latency percentiles there. CPU seconds of every process (workers, broker, Redis, the bench) over
   the flood say where the cores went. Then the same runs on ``--html-pages`` HTML pages (the real
   pages of the HTML stage, repeated, each copy under its own id and URL): pages per second end to end.
   Beside the workers, the flood of articles also goes through datasketch used well run as a worker
   (:mod:`streams.tools.baseline_worker`, as many processes), for the like-with-like end-to-end ratio.
2. **Stages**, in this process, one at a time: microseconds per article for parse, clean (text and
   HTML inputs separately), fingerprint, the index call (one pipeline round trip per batch) and
   encoding the decision.
3. **Index memory**: Redis ``used_memory`` after indexing the N articles minus before, per article,
   with Redis commands (``INFO commandstats``, script-internal calls included) and client round trips
   per article. ``index_capacity`` is set to N: it sizes the band table and the small hashes.
4. **Growth**: the index call's cost after 10k, 100k and 1M articles; the filler articles are random
   fingerprints sent through the same Lua script in big pipelines.
5. **Baseline**: the naive datasketch pipeline (``MinHash.update`` per shingle, ``MinHashLSH`` at 0.8
   with datasketch's own Redis storage, query then insert) on the first articles of the same data,
   and the project's offline engine on the very same articles, with the ratios; beside it the same recipe
   with datasketch used well (``update_batch``, inserts in an ``insertion_session``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import itertools
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streams.agents import encode_decision
from streams.cleaning import clean_article
from streams.cli import explained_errors, load_settings, quiet_clients, run_async
from streams.dedup import Deduplicator, PrepareConfig, PreparedArticle, index_config, prepare, to_decision
from streams.fingerprint import Fingerprint, fingerprint
from streams.index import IndexVerdict, RedisIndex
from streams.models import Rejection, SourcePosition, parse_article
from streams.settings import Settings
from streams.tools.baseline_worker import has_received, start_baseline_worker
from streams.tools.evaluation import NaivePipeline, WellUsedPipeline, naive_text, redis_storage_config
from streams.tools.localstack import (
    BROKER_KINDS,
    BrokerKind,
    BrokerProcess,
    RedisProcess,
    create_settings_topics,
    stack_settings,
    start_broker,
    start_redis,
    start_worker,
)
from streams.tools.pages import read_pages
from streams.tools.synthetic import generate_stream, make_copy

#: The targets of docs/performance.md, checked at the end of every run.
TARGETS = {
    "e2e_1_worker_articles_per_s": 1000.0,
    "e2e_2_workers_articles_per_s": 2000.0,
    "speedup_over_baseline": 10.0,
    "speedup_over_well_used": 5.0,
    "p99_ms_at_half_rate": 100.0,
    "redis_bytes_per_article": 1000.0,
    "growth_ratio_1m_over_10k": 1.5,
}
JOIN_TIMEOUT_SECONDS = 180.0
#: How part 1 names the runs of datasketch used well as a worker (``end_to_end_well_used`` in the report).
BASELINE_WORKER = "datasketch used well (worker)"


#: The real pages used for the HTML stage when present (the project's shared data, never copied in).
SHARED_PAGES = Path("../shared/data/pages.jsonl.gz")


#: Kafka's default ``message.max.bytes`` (1 MiB and a record's overhead): the end-to-end HTML run leaves out
#: the few real pages whose message would pass it, so it runs the same on both brokers and on a stock Kafka.
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588


def page_htmls(path: Path, max_payload_bytes: int = 0) -> list[str]:
    """The HTML of each page of a pages file (``streams eval --pages`` format); when ``max_payload_bytes``
    is given, without the pages whose message would be longer."""
    pages = [page["html"] for page in read_pages(path)]
    if max_payload_bytes:
        # The id and URL add well under 256 bytes to the JSON-encoded page.
        pages = [
            h for h in pages if len(json.dumps(h, ensure_ascii=False).encode()) + 256 <= max_payload_bytes
        ]
    if not pages:
        raise click.ClickException(f"{path}: no page fits in a message of {max_payload_bytes:,} bytes")
    return pages


def page_items(path: Path, n: int, prefix: str = "page", max_payload_bytes: int = 0) -> list[Item]:
    """``n`` HTML inputs from a pages file, the pages repeated, each copy under its own id and URL
    (``prefix-i``), so that every copy is decided (the copies after the first round as duplicates)."""
    pages = page_htmls(path, max_payload_bytes)
    return [
        item_of({"id": f"{prefix}-{i}", "url": f"https://pages.bench.test/{prefix}-{i}", "html": page})
        for i, page in zip(range(n), itertools.cycle(pages))
    ]


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One input message: key, payload and the article id (for matching its decision)."""

    key: bytes
    payload: bytes
    article_id: str
    is_html: bool


def item_of(article: dict[str, Any]) -> Item:
    """An article dict (labels removed) as the crawler would send it."""
    body = {k: v for k, v in article.items() if not k.startswith("label_")}
    article_id = str(body.get("id") or body.get("url"))
    body["id"] = article_id
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Item(article_id.encode("utf-8"), payload, article_id, not body.get("text"))


def synthetic_items(n: int, seed: int, prefix: str = "") -> list[Item]:
    """``n`` realistic articles (300-800 words, about 30% near duplicates), ids prefixed."""
    items = []
    for article in generate_stream(n, duplicate_share=0.3, seed=seed):
        if prefix:
            article["id"] = prefix + str(article["id"])
        items.append(item_of(article))
    return items


def file_items(path: Path, n: int, cycle_tag: str = "") -> list[Item]:
    """``n`` articles from a JSONL file, repeated with new ids and URLs if the file is shorter."""
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    items: list[Item] = []
    for i in range(n):
        line = lines[i % len(lines)]
        try:
            article = json.loads(line)
        except ValueError:
            items.append(Item(f"bad-{i}".encode(), line, f"bad-{i}", False))
            continue
        if not isinstance(article, dict):
            items.append(Item(f"bad-{i}".encode(), line, f"bad-{i}", False))
            continue
        cycle = i // len(lines)
        if cycle or cycle_tag:
            tag = f"{cycle_tag}{cycle}"
            article["id"] = f"{article.get('id') or i}-{tag}"
            article["url"] = f"{article.get('url', 'https://bench.example/')}#{tag}"
        items.append(item_of(article))
    return items


def html_items(n: int, seed: int) -> list[Item]:
    """``n`` HTML pages (the synthetic ``html`` copy of fresh originals), for the HTML cleaning stage."""
    rng = random.Random(seed)
    originals = [a for a in generate_stream(n, duplicate_share=0.0, seed=seed, same_event_share=0.0)]
    return [item_of(make_copy("html", original, rng)) for original in originals]


# --------------------------------------------------------------------------------------------------
# Small measuring helpers
# --------------------------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of some values (nearest rank); zeros when there are none."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))])

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": float(ordered[-1])}


def process_cpu_seconds(pid: int | None, children: bool = True) -> float:
    """User + system CPU seconds of a process and, by default, its live children (0 if it is gone)."""
    if pid is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for candidate in [pid, *(_children(pid) if children else [])]:
        try:
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, memory, load and versions: the context every figure needs."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@contextlib.contextmanager
def count_round_trips() -> Iterator[Counter[str]]:
    """Count requests written to Redis connections (a pipeline is one), sync and asyncio clients."""
    import redis.asyncio.connection as async_conn
    import redis.connection as sync_conn

    counts: Counter[str] = Counter()
    sync_original = sync_conn.AbstractConnection.send_packed_command
    async_original = async_conn.AbstractConnection.send_packed_command

    def sync_send(self: Any, command: Any, check_health: bool = True) -> None:
        counts["sync"] += 1
        sync_original(self, command, check_health)  # type: ignore[no-untyped-call]

    async def async_send(self: Any, command: Any, check_health: bool = True) -> None:
        counts["async"] += 1
        await async_original(self, command, check_health)

    sync_conn.AbstractConnection.send_packed_command = sync_send  # type: ignore[method-assign]
    async_conn.AbstractConnection.send_packed_command = async_send  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        sync_conn.AbstractConnection.send_packed_command = sync_original  # type: ignore[method-assign]
        async_conn.AbstractConnection.send_packed_command = async_original  # type: ignore[method-assign]


@dataclass
class RedisSnapshot:
    """``used_memory``, total commands and per-command calls at one moment."""

    used_memory: int
    total_commands: int
    calls: dict[str, int]

    @classmethod
    def take(cls, client: Any) -> RedisSnapshot:
        memory = client.info("memory")
        stats = client.info("stats")
        commands = client.info("commandstats")
        calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in commands.items()}
        return cls(int(memory["used_memory"]), int(stats["total_commands_processed"]), calls)

    def delta(self, before: RedisSnapshot, articles: int) -> dict[str, Any]:
        """Memory and commands per article between two snapshots (INFO itself excluded)."""
        n = max(1, articles)
        calls = {k: v - before.calls.get(k, 0) for k, v in self.calls.items() if k != "info"}
        calls = {k: v for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v > 0}
        return {
            "articles": articles,
            "used_memory_delta_bytes": self.used_memory - before.used_memory,
            "bytes_per_article": (self.used_memory - before.used_memory) / n,
            # total_commands_processed counts the commands scripts run too (Redis 7); INFO runs three
            # times per snapshot, and those are not the index's.
            "commands_per_article_incl_script_calls": (self.total_commands - before.total_commands - 3) / n,
            "script_calls_per_article": (calls.get("evalsha", 0) + calls.get("eval", 0)) / n,
            "calls_per_article": {k: round(v / n, 2) for k, v in calls.items()},
        }


def sync_redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def bench_settings(
    base: Settings, broker: BrokerProcess, redis: RedisProcess, capacity: int, tag: str
) -> Settings:
    """Settings of one bench run on a local stack: its own topics, group and index namespace."""
    return stack_settings(
        base,
        broker,
        redis,
        app_id=f"bench-{tag}",
        namespace=f"bench-{tag}",
        topic_raw=f"bench-{tag}.raw",
        topic_unique=f"bench-{tag}.unique",
        topic_duplicates=f"bench-{tag}.duplicates",
        topic_rejected=f"bench-{tag}.rejected",
        index_capacity=max(1000, capacity),
        broker_session_timeout_seconds=6.0,
    )


# --------------------------------------------------------------------------------------------------
# 1. End to end
# --------------------------------------------------------------------------------------------------


READER_POLL_SECONDS = 0.2


class DecisionReader(threading.Thread):
    """Reads every output topic from the beginning and notes each decision's key, timestamp and topic.

    It runs aiokafka (whose record parsing is in C) on an event loop of its own thread, so reading the
    decisions back costs the machine as little as possible; rejections are parsed for their code.
    """

    def __init__(self, bootstrap: str, settings: Settings) -> None:
        super().__init__(daemon=True, name="decision-reader")
        self.bootstrap = bootstrap
        self.settings = settings
        self.seen: dict[bytes, tuple[int, str]] = {}
        self.rejections: Counter[str] = Counter()
        self.duplicates_read = 0
        self._stop_event = threading.Event()
        self._ready = threading.Event()
        self.error: BaseException | None = None

    def start(self) -> None:
        super().start()
        self._ready.wait(30)

    def run(self) -> None:
        try:
            asyncio.run(self._consume())
        except BaseException as exc:  # reported by wait_for; the bench must not hang on a dead reader
            self.error = exc
            self._ready.set()

    async def _consume(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            check_crcs=False,
            # Latencies come from the records' timestamps, not from when they are read, so the reader can
            # wait long per fetch: fewer fetches leave the broker and the machine to the workers.
            fetch_max_wait_ms=500,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(t, p)
                for t in self.settings.output_topics
                for p in range(self.settings.topic_partitions)
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self._ready.set()
            rejected_topic = self.settings.topic_rejected
            while not self._stop_event.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=10_000)
                # Read a few times a second, not as each record arrives: aiokafka fetches a partition
                # again only once its buffered records are taken, so at low rates this turns many tiny
                # fetches (CPU in the broker and here, taken from the workers) into a few larger ones.
                # Latencies come from the records' timestamps, so reading later changes none of them.
                await asyncio.sleep(READER_POLL_SECONDS)
                for records in batches.values():
                    for record in records:
                        key = bytes(record.key or b"")
                        if key in self.seen:
                            self.duplicates_read += 1
                            continue
                        self.seen[key] = (int(record.timestamp), record.topic)
                        if record.topic == rejected_topic:
                            with contextlib.suppress(ValueError, TypeError):
                                self.rejections[str(json.loads(record.value or b"{}").get("error"))] += 1
        finally:
            await consumer.stop()

    def wait_for(self, keys: Sequence[bytes], timeout: float, on_progress: Callable[[int], None]) -> int:
        """Block until every key has a decision or the time is up; returns how many arrived."""
        deadline = time.monotonic() + timeout
        done = 0
        pending = list(keys)
        while time.monotonic() < deadline and self.error is None:
            pending = [k for k in pending if k not in self.seen]
            on_progress(len(keys) - len(pending) - done)
            done = len(keys) - len(pending)
            if not pending:
                break
            time.sleep(0.05)
        return done

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def worker_status(port: int) -> dict[str, Any]:
    """The worker's ``/api/status`` (empty when it does not answer yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except (OSError, ValueError):
        return {}


def worker_received(port: int) -> bool:
    """Whether the worker on ``port`` has received a message (its status says so)."""
    return int(worker_status(port).get("received", 0)) > 0


def worker_stage_seconds(port: int) -> dict[str, tuple[float, float]]:
    """Sum and count of ``streams_stage_seconds`` per stage, from the worker's ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    stages: dict[str, tuple[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "streams_stage_seconds":
            continue
        for sample in family.samples:
            stage = sample.labels.get("stage", "")
            total, count = stages.get(stage, (0.0, 0.0))
            if sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
            stages[stage] = (total, count)
    return stages


PRODUCERS = ("confluent-kafka", "kafka-python")


class Producer:
    """kafka-python producer of pre-serialised items; every send is stamped and confirmed."""

    def __init__(self, bootstrap: str, topic: str, linger_ms: int) -> None:
        from kafka import KafkaProducer

        self.topic = topic
        self.failed = 0
        self.producer = KafkaProducer(
            bootstrap_servers=[bootstrap],
            acks="all",
            linger_ms=linger_ms,
            batch_size=1024 * 1024,
            max_request_size=8 * 1024 * 1024,
            retries=5,
        )

    def send(self, item: Item) -> int:
        now_ms = int(time.time() * 1000)
        future = self.producer.send(self.topic, key=item.key, value=item.payload, timestamp_ms=now_ms)
        future.add_errback(self._failed)
        return now_ms

    def _failed(self, _: BaseException) -> None:
        self.failed += 1

    def flush(self, timeout: float) -> None:
        self.producer.flush(timeout)

    def close(self) -> None:
        self.producer.flush(120)
        self.producer.close(30)


class ConfluentProducer:
    """The same producer on librdkafka (confluent-kafka): the crawler's load without its Python cost.

    The bench's producer shares the two cores with the pipeline it measures; at the paced rate
    kafka-python costs several hundred microseconds of this process's CPU per article (its sender thread
    and wake-ups per request), which a crawler on its own machine would not take from the workers.
    The partitioner is murmur2, kafka-python's and the Java client's, so keys land where they did.
    """

    def __init__(self, bootstrap: str, topic: str, linger_ms: int) -> None:
        from confluent_kafka import Producer as RdKafkaProducer

        self.topic = topic
        self.failed = 0
        self.rdkafka = RdKafkaProducer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "linger.ms": linger_ms,
                "partitioner": "murmur2_random",
                "message.max.bytes": 8 * 1024 * 1024,
                "batch.size": 1024 * 1024,
                "queue.buffering.max.kbytes": 1024 * 1024,
                "message.send.max.retries": 5,
            }
        )

    def send(self, item: Item) -> int:
        now_ms = int(time.time() * 1000)
        while True:
            try:
                self.rdkafka.produce(
                    self.topic, item.payload, item.key, timestamp=now_ms, on_delivery=self._delivered
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                self.rdkafka.poll(0.05)
        self.rdkafka.poll(0)  # serve delivery callbacks; never blocks
        return now_ms

    def _delivered(self, error: Any, _message: Any) -> None:
        if error is not None:
            self.failed += 1

    def flush(self, timeout: float) -> None:
        self.rdkafka.flush(timeout)

    def close(self) -> None:
        self.rdkafka.flush(120)
        self.rdkafka.close()  # else its threads outlive the broker and log every failed reconnect


def make_producer(kind: str, bootstrap: str, topic: str, linger_ms: int) -> Producer | ConfluentProducer:
    """The bench's producer of raw articles: ``confluent-kafka`` (the default) or ``kafka-python``."""
    if kind == "kafka-python":
        return Producer(bootstrap, topic, linger_ms)
    if kind == "confluent-kafka":
        return ConfluentProducer(bootstrap, topic, linger_ms)
    raise ValueError(f"unknown producer {kind!r}; expected one of {', '.join(PRODUCERS)}")


@dataclass
class StackProcesses:
    """What the e2e part runs: broker, Redis and the workers (for CPU accounting)."""

    broker_pid: int | None
    redis_pid: int | None
    worker_pids: list[int | None] = field(default_factory=list)

    def cpu(self) -> dict[str, float]:
        return {
            "workers": sum(process_cpu_seconds(pid) for pid in self.worker_pids),
            "broker": process_cpu_seconds(self.broker_pid),
            "redis": process_cpu_seconds(self.redis_pid),
            "bench_producer_and_reader": process_cpu_seconds(os.getpid(), children=False),
        }


def latency_summary(produced: dict[bytes, int], reader: DecisionReader) -> dict[str, Any]:
    """Throughput and latency of a set of produced items, from the Kafka timestamps."""
    latencies, outputs = [], []
    topics: Counter[str] = Counter()
    for key, sent_ms in produced.items():
        got = reader.seen.get(key)
        if got is None:
            continue
        latencies.append(max(0, got[0] - sent_ms))
        outputs.append(got[0])
        topics[got[1].rsplit(".", 1)[-1]] += 1
    decided = len(latencies)
    first_in = min(produced.values()) if produced else 0
    last_out = max(outputs) if outputs else first_in
    seconds = max(1e-3, (last_out - first_in) / 1000)
    return {
        "articles": len(produced),
        "decided": decided,
        "seconds": round(seconds, 3),
        "articles_per_s": round(decided / seconds, 1),
        "latency_ms": percentiles(latencies),
        "outcomes": dict(topics),
    }


def run_end_to_end(
    base: Settings,
    workers: int,
    flood: Sequence[Item],
    paced_source: Callable[[int], list[Item]],
    paced_seconds: float,
    workdir: Path,
    bar: Progress,
    producer_kind: str = PRODUCERS[0],
    broker_kind: BrokerKind = "tansu",
    html: bool = False,
    baseline: bool = False,
) -> dict[str, Any]:
    """Part 1 for one worker count on one broker: join, flood, then produce at half the measured rate.

    ``html``: the items are HTML pages (it only names the run's progress bars and directory).
    ``baseline``: the processes are datasketch used well run as a worker
    (:mod:`streams.tools.baseline_worker`) instead of ``streams worker``, and only the flood runs (no
    paced run, no stage histograms).
    """
    tag = f"{workers}w{'-html' if html else ''}{'-datasketch' if baseline else ''}-{uuid.uuid4().hex[:6]}"
    who = f"{workers} {'datasketch ' if baseline else ''}worker(s)"
    run_dir = workdir / f"e2e-{broker_kind}-{tag}"
    run_dir.mkdir(parents=True)
    with start_broker(run_dir, kind=broker_kind) as broker, start_redis(run_dir) as redis_server:
        # Room for the flood and the paced run after it (up to half as many again, and its copies are
        # fewer): the index stays within its capacity, as a deployment sized for its window would.
        settings = bench_settings(base, broker, redis_server, 2 * len(flood), tag)
        create_settings_topics(broker, settings)
        if baseline:
            procs = [start_baseline_worker(settings, run_dir / f"baseline-{i}.log") for i in range(workers)]
            ports: list[int] = []
            received = [functools.partial(has_received, proc) for proc in procs]
        else:
            procs = [start_worker(settings, run_dir / f"worker-{i}.log") for i in range(workers)]
            ports = [cast(int, p.web_port) for p in procs]
            received = [functools.partial(worker_received, port) for port in ports]
        reader = DecisionReader(broker.bootstrap, settings)
        reader.start()
        try:
            stack = StackProcesses(
                broker.pid, redis_server.pid, [p.process.pid if p.process else None for p in procs]
            )
            join_seconds = wait_for_workers(
                broker.bootstrap, settings, ports, procs, reader, bar, producer_kind, received
            )
            # The worker's histograms hold the warm-up articles (text): the flood's and paced run's stages
            # are what the histograms gained after them.
            stages_before = [worker_stage_seconds(port) for port in ports]
            # The flood: as fast as one producer can send, into a joined group.
            producer = make_producer(producer_kind, broker.bootstrap, settings.topic_raw, linger_ms=20)
            produced: dict[bytes, int] = {}
            cpu_before = stack.cpu()
            task = bar.add_task(f"{who}: {'HTML ' if html else ''}flood", total=len(flood))
            started = time.perf_counter()
            for item in flood:
                produced[item.key] = producer.send(item)
            producer.flush(120)
            produce_seconds = time.perf_counter() - started
            reader.wait_for(list(produced), 600.0, lambda n: bar.advance(task, n))
            cpu_after = stack.cpu()
            flood_result = latency_summary(produced, reader)
            flood_result["producer_seconds"] = round(produce_seconds, 3)
            flood_result["producer_failed"] = producer.failed
            flood_result["cpu_us_per_article"] = {
                name: round((cpu_after[name] - cpu_before[name]) / max(1, len(flood)) * 1e6, 1)
                for name in cpu_after
            }
            flood_result["cpu_share_of_machine"] = round(
                sum(cpu_after[k] - cpu_before[k] for k in cpu_after)
                / max(1e-9, flood_result["seconds"] * (os.cpu_count() or 1)),
                3,
            )
            producer.close()
            result: dict[str, Any] = {
                "workers": workers,
                "broker": broker_kind,
                "join_seconds": round(join_seconds, 1),
                "max_rate": flood_result,
            }
            if baseline:
                result["pipeline"] = BASELINE_WORKER
            else:
                # Paced: fresh articles at half the measured rate.
                rate = max(1.0, flood_result["articles_per_s"] / 2)
                paced_items = paced_source(max(10, int(rate * paced_seconds)))
                result["half_rate"] = run_paced(
                    broker.bootstrap,
                    settings.topic_raw,
                    paced_items,
                    rate,
                    reader,
                    bar,
                    workers,
                    stack,
                    producer_kind,
                )
                result["worker_stage_us_per_article"] = merge_stage_metrics([
                    stage_delta(worker_stage_seconds(port), before)
                    for port, before in zip(ports, stages_before, strict=True)
                ])  # fmt: skip
        finally:
            reader.stop()
            for proc in procs:
                proc.stop()
            shutil.rmtree(run_dir, ignore_errors=True)
    result["duplicate_decisions_read"] = reader.duplicates_read
    result["rejections"] = dict(reader.rejections)
    return result


def wait_for_workers(
    bootstrap: str,
    settings: Settings,
    ports: Sequence[int],
    procs: Sequence[Any],
    reader: DecisionReader,
    bar: Progress,
    producer_kind: str = PRODUCERS[0],
    received: Sequence[Callable[[], bool]] | None = None,
) -> float:
    """Send warm-up articles until every worker has decided some, then until all warm-ups are back.

    A worker only receives messages once the group (with it in) is synced, so "every worker received
    something" means the group is complete and no rebalance is pending. ``received``: whether each worker
    has received a message (default: the ``/api/status`` of the workers on ``ports`` says so).
    """
    checks = received or [functools.partial(worker_received, port) for port in ports]
    warm = [item_of(dict(a, id=f"warmup-{i}", url=f"https://warmup.example/{i}")) for i, a in
            enumerate(generate_stream(40, duplicate_share=0.0, seed=4242, same_event_share=0.0))]  # fmt: skip
    producer = make_producer(producer_kind, bootstrap, settings.topic_raw, linger_ms=0)
    task = bar.add_task(f"{len(checks)} worker(s): joining", total=len(checks))
    started = time.monotonic()
    sent: list[bytes] = []
    try:
        joined: set[int] = set()
        i = 0
        while len(joined) < len(checks):
            if time.monotonic() - started > JOIN_TIMEOUT_SECONDS:
                raise click.ClickException(f"workers did not join in {JOIN_TIMEOUT_SECONDS:.0f}s")
            if any(not p.running for p in procs):
                raise click.ClickException("a worker exited while joining; see its log")
            item = warm[i % len(warm)]
            if i < len(warm):
                producer.send(item)
                producer.flush(10)
                sent.append(item.key)
            i += 1
            for n, check in enumerate(checks):
                if n not in joined and check():
                    joined.add(n)
                    bar.advance(task)
            time.sleep(0.2)
        reader.wait_for(sent, 120.0, lambda n: None)
    finally:
        producer.close()
    return time.monotonic() - started


_T = TypeVar("_T")


def paced(items: Sequence[_T], rate: float) -> Iterator[_T]:
    """Each item at its turn, ``rate`` a second from the first: a late one is not waited for, an early
    one sleeps until its time, so a stall is caught up with at once rather than spread out."""
    start = time.perf_counter()
    for i, item in enumerate(items):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield item


def run_paced(
    bootstrap: str,
    topic: str,
    items: Sequence[Item],
    rate: float,
    reader: DecisionReader,
    bar: Progress,
    workers: int,
    stack: StackProcesses | None = None,
    producer_kind: str = PRODUCERS[0],
) -> dict[str, Any]:
    """Produce at a fixed rate (the crawler's steady state) and report the latency percentiles."""
    # A crawler batches a little (streams.client.ArticleProducer lingers 20 ms by default).
    producer = make_producer(producer_kind, bootstrap, topic, linger_ms=5)
    # A full collection of this process's heap (the articles, the decisions read so far) stalls the
    # pacing loop for tens of milliseconds, which then sends a burst: frozen, the heap is not scanned.
    gc.collect()
    gc.freeze()
    produced: dict[bytes, int] = {}
    cpu_before = stack.cpu() if stack else {}
    task = bar.add_task(f"{workers} worker(s): {rate:,.0f}/s paced", total=len(items))
    start = time.perf_counter()
    try:
        for item in paced(items, rate):
            produced[item.key] = producer.send(item)
        producer.flush(120)
        produce_seconds = time.perf_counter() - start
        reader.wait_for(list(produced), 300.0, lambda n: bar.advance(task, n))
    finally:
        producer.close()
    result = latency_summary(produced, reader)
    if stack:
        cpu_after = stack.cpu()
        result["cpu_us_per_article"] = {
            name: round((cpu_after[name] - cpu_before[name]) / max(1, len(items)) * 1e6, 1)
            for name in cpu_after
        }
    result["target_rate"] = round(rate, 1)
    result["achieved_produce_rate"] = round(len(items) / max(1e-9, produce_seconds), 1)
    return result


def stage_delta(
    after: dict[str, tuple[float, float]], before: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Sum and count of each stage's histogram gained between two readings of one worker."""
    return {
        stage: (total - before.get(stage, (0.0, 0.0))[0], count - before.get(stage, (0.0, 0.0))[1])
        for stage, (total, count) in after.items()
    }


def merge_stage_metrics(per_worker: Sequence[dict[str, tuple[float, float]]]) -> dict[str, float]:
    """Mean microseconds per article of each stage, over every worker's histogram."""
    totals: dict[str, list[float]] = {}
    for stages in per_worker:
        for stage, (total, count) in stages.items():
            acc = totals.setdefault(stage, [0.0, 0.0])
            acc[0] += total
            acc[1] += count
    return {stage: round(total / count * 1e6, 1) for stage, (total, count) in sorted(totals.items()) if count}


# --------------------------------------------------------------------------------------------------
# 2. Stages, 3. memory
# --------------------------------------------------------------------------------------------------


def _per_article_us(fn: Callable[[Any], Any], inputs: Sequence[Any], rounds: int = 3) -> float:
    # CPU time of this process, best of a few rounds: on a shared machine, wall time also counts the
    # time other processes had the core.
    best = math.inf
    for _ in range(rounds if inputs else 0):
        started = time.process_time()
        for value in inputs:
            fn(value)
        best = min(best, (time.process_time() - started) / len(inputs) * 1e6)
    return 0.0 if best is math.inf else best


def measure_stages(items: Sequence[Item], html: Sequence[Item], config: PrepareConfig) -> dict[str, Any]:
    """CPU microseconds per article of parse, clean (text, HTML), fingerprint and decision encoding."""
    texts = [i for i in items if not i.is_html]
    parsed = [p for p in (parse_article(i.payload, max_bytes=config.max_message_bytes) for i in texts)
              if not isinstance(p, Rejection)]  # fmt: skip
    html_parsed = [p for p in (parse_article(i.payload, max_bytes=config.max_message_bytes) for i in html)
                   if not isinstance(p, Rejection)]  # fmt: skip

    def clean(p: Any) -> Any:
        return clean_article(
            title=p.title,
            text=p.text,
            html=p.html,
            max_chars=config.max_text_chars,
            extractor=config.html_extractor,
        )

    cleaned = [(clean(p), p.url) for p in parsed]
    done = [p for p in (prepare(i.payload, config) for i in texts) if isinstance(p, PreparedArticle)]
    verdict = IndexVerdict(status="unique", sequence=1, replayed=False)
    limit, params = config.max_message_bytes, config.params

    def encode(p: PreparedArticle) -> bytes:
        return encode_decision(to_decision(p, verdict))

    def prepare_one(i: Item) -> Any:
        return prepare(i.payload, config)

    prepare_text = _per_article_us(prepare_one, texts)
    prepare_html = _per_article_us(prepare_one, html)
    return {
        "articles": len(parsed),
        "html_pages": len(html_parsed),
        # Whole preparation (parse, clean, fingerprint) of one input in one process: its inverse is what
        # one core sustains before the index and the broker.
        "per_second_one_core": {
            "text": round(1e6 / prepare_text) if prepare_text else 0,
            "html": round(1e6 / prepare_html) if prepare_html else 0,
        },
        "mean_text_bytes": round(statistics.fmean(len(i.payload) for i in texts), 0) if texts else 0,
        "us_per_article": {
            "parse": round(_per_article_us(lambda i: parse_article(i.payload, max_bytes=limit), texts), 1),
            "clean_text": round(_per_article_us(clean, parsed), 1),
            "clean_html": round(_per_article_us(clean, html_parsed), 1),
            "fingerprint": round(_per_article_us(lambda c: fingerprint(c[0].text, c[1], params), cleaned), 1),
            "encode_decision": round(_per_article_us(encode, done), 1),
            "prepare_text": round(prepare_text, 1),
            "prepare_html": round(prepare_html, 1),
        },
    }  # fmt: skip


async def index_many(
    index: RedisIndex, prepared: Sequence[PreparedArticle], batch: int, bar: Progress, label: str
) -> tuple[list[Any], list[float]]:
    """Decide prepared articles in batches (one round trip each); returns verdicts and per-batch seconds."""
    verdicts: list[Any] = []
    seconds: list[float] = []
    task = bar.add_task(label, total=len(prepared))
    for start in range(0, len(prepared), batch):
        chunk = prepared[start : start + batch]
        t0 = time.perf_counter()
        verdicts.extend(await index.decide_many([(a.fingerprint, a.article_id, a.raw.url) for a in chunk]))
        seconds.append(time.perf_counter() - t0)
        bar.advance(task, len(chunk))
    return verdicts, seconds


async def measure_index_memory(
    redis_url: str, settings: Settings, prepared: Sequence[PreparedArticle], bar: Progress
) -> dict[str, Any]:
    """Part 3 (and the index stage of part 2): index N prepared articles into an empty Redis."""
    client = sync_redis(redis_url)
    client.flushall()
    config = index_config(
        settings.model_copy(update={"index_capacity": max(1000, len(prepared))}), "bench-memory"
    )
    index = RedisIndex.from_url(redis_url, config)
    await index.open()
    await index.client.script_load(index._script.script)
    before = RedisSnapshot.take(client)
    with count_round_trips() as trips:
        verdicts, seconds = await index_many(index, prepared, settings.batch_max_articles, bar, "indexing")
    after = RedisSnapshot.take(client)
    await index.close()
    unique = sum(v.status == "unique" for v in verdicts)
    result = after.delta(before, len(prepared))
    result.update(
        index_capacity=config.capacity,
        shard_bits=config.shard_bits,
        band_table_keys=config.table_keys,
        unique_articles=unique,
        bytes_per_unique_article=round(result["used_memory_delta_bytes"] / max(1, unique), 1),
        round_trips_per_article=round(sum(trips.values()) / max(1, len(prepared)), 4),
        batch_articles=settings.batch_max_articles,
        index_us_per_article=round(sum(seconds) / max(1, len(prepared)) * 1e6, 1),
    )
    result["bytes_per_article"] = round(result["bytes_per_article"], 1)
    result["script_calls_per_article"] = round(result["script_calls_per_article"], 4)
    result["commands_per_article_incl_script_calls"] = round(
        result["commands_per_article_incl_script_calls"], 1
    )
    client.flushall()
    client.close()
    return result


# --------------------------------------------------------------------------------------------------
# 4. Growth
# --------------------------------------------------------------------------------------------------


def random_fingerprints(rng: np.random.Generator, count: int, template: Fingerprint) -> list[Fingerprint]:
    """Fingerprints of made-up articles shaped like ``template``: random signatures, band hashes and keys."""
    n_bands = len(template.band_hashes)
    signatures = rng.integers(0, 2**32, size=(count, template.signature.size), dtype=np.uint32)
    leads = rng.integers(0, 2**32, size=(count, template.lead_signature.size), dtype=np.uint32)
    band_values = rng.integers(0, 2**63, size=(count, n_bands), dtype=np.uint64) * np.uint64(2)
    keys = rng.integers(0, 2**63, size=(count, 4), dtype=np.uint64)
    return [
        dataclasses.replace(
            template,
            url_key=f"{int(keys[i, 0]):016x}{int(keys[i, 1]):016x}",
            exact_key=f"{int(keys[i, 2]):016x}{int(keys[i, 3]):016x}",
            signature=signatures[i],
            lead_signature=leads[i],
            band_hashes=tuple(int(x) for x in band_values[i]),
        )
        for i in range(count)
    ]


async def measure_growth(
    redis_url: str,
    settings: Settings,
    real: Sequence[PreparedArticle],
    points: Sequence[int],
    bar: Progress,
    sample: int = 640,
) -> dict[str, Any]:
    """Part 4: the index call's cost (real articles, batches as the worker sends them) as the index fills."""
    client = sync_redis(redis_url)
    client.flushall()
    capacity = max(points)
    config = index_config(settings.model_copy(update={"index_capacity": capacity}), "bench-growth")
    index = RedisIndex.from_url(redis_url, config)
    await index.open()
    base_memory = RedisSnapshot.take(client).used_memory
    rng = np.random.default_rng(7)
    rows: list[dict[str, Any]] = []
    fill_task = bar.add_task("growth: filling the index", total=capacity)
    for point_no, point in enumerate(sorted(points)):
        filled = await index.size()
        while filled < point:
            count = min(4000, point - filled)
            fps = random_fingerprints(rng, count, real[0].fingerprint)
            half = count // 2
            chunks = [fps[:half], fps[half:]]
            # Two pipelines at once, so the client builds one while Redis runs the other.
            await asyncio.gather(*[
                index.decide_many([(fp, f"g{n}", f"https://growth.example/{n}")
                                   for n, fp in enumerate(chunk, start=filled + c * half)])
                for c, chunk in enumerate(chunks) if chunk
            ])  # fmt: skip
            filled += count
            bar.advance(fill_task, count)
        chosen = [real[(point_no * sample + j) % len(real)] for j in range(min(sample, len(real)))]
        size_before = await index.size()
        script_before = client.info("commandstats").get("cmdstat_evalsha", {})
        _, seconds = await index_many(
            index, chosen, settings.batch_max_articles, bar, f"growth: index call at {point:,}"
        )
        script_after = client.info("commandstats").get("cmdstat_evalsha", {})
        batch = settings.batch_max_articles
        sizes = [min(batch, len(chosen) - i) for i in range(0, len(chosen), batch)]
        per_batch_us = [s / n * 1e6 for s, n in zip(seconds, sizes, strict=True)]
        memory = RedisSnapshot.take(client).used_memory - base_memory
        rows.append({
            "indexed_articles": size_before,
            "index_us_per_article": round(sum(seconds) / max(1, len(chosen)) * 1e6, 1),
            "batch_us_per_article": {k: round(v, 1) for k, v in percentiles(per_batch_us).items()},
            "redis_bytes_per_article": round(memory / max(1, await index.size()), 1),
            "band_evictions": await index.band_evictions(),
            # Redis's own time in the script (INFO commandstats): what the index call costs the server,
            # without the client and the machine's other processes.
            "redis_us_per_article": round(
                (script_after.get("usec", 0) - script_before.get("usec", 0)) / max(1, len(chosen)), 1
            ),
        })  # fmt: skip
    await index.close()
    client.flushall()
    client.close()
    first, last = (
        (float(rows[0]["index_us_per_article"]), float(rows[-1]["index_us_per_article"])) if rows else (0, 0)
    )
    flat = last / first if first else 0.0
    return {"index_capacity": capacity, "sample_articles_per_point": sample, "points": rows,
            "ratio_last_over_first": round(flat, 2)}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# 5. Baseline
# --------------------------------------------------------------------------------------------------


def measure_naive(
    redis_url: str, items: Sequence[Item], bar: Progress, well_used: bool = False
) -> dict[str, Any]:
    """The naive datasketch pipeline (or the recipe used well) with its Redis storage, in this process."""
    client = sync_redis(redis_url)
    client.flushall()
    storage = redis_storage_config(redis_url, b"naive")
    before = RedisSnapshot.take(client)
    name = "datasketch used well" if well_used else "naive datasketch"
    task = bar.add_task(f"baseline: {name} + Redis", total=len(items))
    duplicates = 0
    with count_round_trips() as trips:
        pipeline = (WellUsedPipeline if well_used else NaivePipeline)(storage_config=storage)
        started = time.perf_counter()
        for i, item in enumerate(items):
            try:
                article = json.loads(item.payload)
            except ValueError:
                continue
            outcome = pipeline.decide(str(article.get("id") or f"line-{i}"), naive_text(article))
            duplicates += outcome.status == "duplicate"
            bar.advance(task)
        if isinstance(pipeline, WellUsedPipeline):
            pipeline.flush()  # the last buffered inserts belong to the run
        elapsed = time.perf_counter() - started
    after = RedisSnapshot.take(client)
    return one_process_result(client, after.delta(before, len(items)), elapsed, trips, duplicates, 2)


async def measure_project_offline(
    redis_url: str, settings: Settings, items: Sequence[Item], bar: Progress
) -> dict[str, Any]:
    """The project's engine in this process (parse, clean, fingerprint, index) over the same items."""
    client = sync_redis(redis_url)
    client.flushall()
    config_settings = settings.model_copy(update={"index_capacity": max(1000, len(items))})
    index = RedisIndex.from_url(redis_url, index_config(config_settings, "bench-offline"))
    await index.open()
    await index.client.script_load(index._script.script)
    engine = Deduplicator(config_settings, index)
    before = RedisSnapshot.take(client)
    task = bar.add_task("baseline: streams engine, same articles", total=len(items))
    duplicates = 0
    batch = settings.batch_max_articles
    await engine.warm_up()  # a running worker has its extraction and offload processes started already
    batches = ([(i.payload, SourcePosition()) for i in items[start : start + batch]]
               for start in range(0, len(items), batch))  # fmt: skip
    with count_round_trips() as trips:
        started = time.perf_counter()
        async for decisions in engine.decide_batches(batches):
            duplicates += sum(d.status == "duplicate" for d in decisions)
            bar.advance(task, len(decisions))
        elapsed = time.perf_counter() - started
    after = RedisSnapshot.take(client)  # before the engine's connections close: their buffers count
    engine.close()
    await index.close()
    return one_process_result(client, after.delta(before, len(items)), elapsed, trips, duplicates, 4)


def one_process_result(
    client: Any,
    redis_delta: dict[str, Any],
    elapsed: float,
    trips: Counter[str],
    duplicates: int,
    trip_digits: int,
) -> dict[str, Any]:
    """Part 5's figures for one pipeline run in this process: Redis's growth over the run
    (:meth:`RedisSnapshot.delta`), the rate and the round trips per article; then the Redis is emptied for
    the next run and ``client`` closed."""
    articles = redis_delta["articles"]
    result = dict(redis_delta)
    result.update(
        seconds=round(elapsed, 3),
        articles_per_s=round(articles / max(1e-9, elapsed), 1),
        round_trips_per_article=round(sum(trips.values()) / max(1, articles), trip_digits),
        duplicates=duplicates,
    )
    client.flushall()
    client.close()
    return result


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def target_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the measured value and whether it is met (None when not measured)."""
    e2e = report.get("end_to_end", {})

    def rate(workers: int) -> float | None:
        # The embedded broker's figure where it ran (the targets were set on it), else Apache Kafka's.
        run = e2e.get(e2e_key("tansu", workers)) or e2e.get(e2e_key("kafka", workers))
        return None if run is None else float(run["max_rate"]["articles_per_s"])

    best = max((r for r in (rate(1), rate(2)) if r is not None), default=None)
    naive = report.get("baseline", {}).get("naive", {}).get("articles_per_s")
    well = report.get("baseline", {}).get("well_used", {}).get("articles_per_s")
    twin = report.get("baseline", {}).get("streams", {}).get("articles_per_s")
    p99s = [
        run["half_rate"]["latency_ms"]["p99"]
        for run in e2e.values()
        if isinstance(run, dict) and "half_rate" in run
    ]
    # The smallest: the target holds for every worker count (and broker) that ran beside its baseline twin.
    over_worker = min(e2e_over_baseline_worker(report).values(), default=None)
    growth = report.get("growth", {}).get("ratio_last_over_first")
    memory = report.get("index_memory", {}).get("bytes_per_article")
    rows = [
        ("end to end, 1 worker (articles/s)", ">=", TARGETS["e2e_1_worker_articles_per_s"], rate(1)),
        ("end to end, 2 workers (articles/s)", ">=", TARGETS["e2e_2_workers_articles_per_s"], rate(2)),
        # The naive pipeline is one process with Redis and no broker: its like is the engine in one
        # process; the end-to-end rate, which also pays for Kafka, is shown beside it.
        ("throughput / naive baseline, both in one process", ">=", TARGETS["speedup_over_baseline"],
         twin / naive if twin and naive else None),
        ("end-to-end max rate / naive baseline", ">=", TARGETS["speedup_over_baseline"],
         best / naive if best and naive else None),
        ("throughput / datasketch used well, both in one process", ">=", TARGETS["speedup_over_well_used"],
         twin / well if twin and well else None),
        ("end-to-end max rate / datasketch used well", ">=", TARGETS["speedup_over_well_used"],
         best / well if best and well else None),
        ("end-to-end max rate / datasketch used well as a worker", ">=", TARGETS["speedup_over_well_used"],
         over_worker),
        ("p99 latency at half the max rate (ms)", "<=", TARGETS["p99_ms_at_half_rate"],
         max(p99s) if p99s else None),
        ("Redis bytes per indexed article", "<=", TARGETS["redis_bytes_per_article"], memory),
        ("index cost at largest / smallest size", "<=", TARGETS["growth_ratio_1m_over_10k"], growth),
    ]  # fmt: skip
    out = []
    for name, op, target, value in rows:
        met = None if value is None else (value >= target if op == ">=" else value <= target)
        out.append({"target": name, "op": op, "goal": target, "measured": value, "met": met})
    return out


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


#: A table cell: text, or whether a target is met (rich colours it, Markdown puts a miss in bold).
Cell = str | bool


@dataclass(frozen=True)
class Section:
    """One table of the report: its rows are built once, and both renderers draw them."""

    rich_title: str
    md_title: str
    header: list[str]
    rows: list[list[Cell]]
    #: A line under the table: a paragraph after it in Markdown, its caption in rich.
    note: str | None = None
    #: Whether the first column names the rows (rich justifies it left, else right; Markdown always left).
    names_first: bool = True


def _runs(report: dict[str, Any], part: str = "end_to_end") -> dict[str, dict[str, Any]]:
    """The end-to-end runs of a report, by key (``workers_1``, ``kafka_workers_1``, ...); none when part 1
    was skipped. ``part``: ``end_to_end`` (the articles) or ``end_to_end_html`` (the HTML pages)."""
    e2e = report.get(part, {})
    return {k: v for k, v in e2e.items() if isinstance(v, dict) and "max_rate" in v}


def e2e_key(broker: str, workers: int) -> str:
    """The report's key of one end-to-end run: ``workers_N`` on tansu (as before Kafka was benched),
    ``kafka_workers_N`` on Apache Kafka."""
    return f"workers_{workers}" if broker == "tansu" else f"{broker}_workers_{workers}"


def end_to_end_sections(report: dict[str, Any]) -> list[Section]:
    """Part 1: throughput and latency of every run, and where the CPU went during the floods; the runs of
    datasketch used well as a worker after the workers', then the runs on HTML pages, when there are some."""
    runs = [(run, "text articles") for run in _runs(report).values()]
    runs += [(run, "text articles") for run in _runs(report, "end_to_end_well_used").values()]
    runs += [(run, "HTML pages") for run in _runs(report, "end_to_end_html").values()]
    if not runs:
        return []
    brokers = [run.get("broker", "tansu") for run, _ in runs]
    # A column for the broker only when a run was not on tansu, one for the input only when HTML pages ran
    # too, one for the pipeline only when the baseline ran as a worker: reports of text articles through
    # the workers on tansu alone read as before.
    by_broker = any(b != "tansu" for b in brokers)
    by_input = any(kind != "text articles" for _, kind in runs)
    by_pipeline = any("pipeline" in run for run, _ in runs)

    def lead(run: dict[str, Any], broker: str, kind: str) -> list[Cell]:
        return [
            str(run["workers"]),
            *([run.get("pipeline", "streams")] if by_pipeline else []),
            *([broker] if by_broker else []),
            *([kind] if by_input else []),
        ]

    rows: list[list[Cell]] = []
    cpu: list[list[Cell]] = []
    names = ["workers", "broker", "redis", "bench_producer_and_reader"]
    for (run, kind), broker in zip(runs, brokers, strict=True):
        for label, part in (("flood (max rate)", run["max_rate"]), ("paced at half", run.get("half_rate"))):
            if part is None:  # the baseline's runs are floods only
                continue
            lat = part["latency_ms"]
            cells = [_fmt(part["decided"]), _fmt(part["articles_per_s"])]
            cells += [_fmt(lat[q]) for q in ("p50", "p95", "p99", "max")]
            rows.append([*lead(run, broker, kind), label, *cells])
        us = run["max_rate"]["cpu_us_per_article"]
        cpu.append([*lead(run, broker, kind), *[_fmt(us.get(n)) for n in names],
                    f"{run['max_rate']['cpu_share_of_machine']:.0%}"])  # fmt: skip
    first = [
        "workers",
        *(["pipeline"] if by_pipeline else []),
        *(["broker"] if by_broker else []),
        *(["input"] if by_input else []),
    ]
    counts = ["decided", "per second"] if by_input else ["articles", "articles/s"]
    each = "input (article or page)" if by_input else "article"
    through = " and ".join(dict.fromkeys(brokers))
    source = report.get("end_to_end_html", {}).get("source")
    notes = [f"HTML pages: {source}." if by_input and source else "",
             f"{BASELINE_WORKER}: streams.tools.baseline_worker, as many processes as workers, the same "
             "flood on a fresh broker and Redis (no paced run)." if by_pipeline else ""]  # fmt: skip
    note = " ".join(n for n in notes if n) or None
    return [
        Section(
            rich_title=f"1. End to end through {through} and Redis (Kafka timestamps, produce -> decision)",
            md_title="**1. End to end** (Kafka timestamps, produce to decision)",
            header=[*first, "run", *counts, "p50 ms", "p95 ms", "p99 ms", "max ms"],
            rows=rows,
            note=note,
            names_first=False,
        ),
        Section(
            rich_title=f"CPU per {each} during the flood (us), by process: where the 2 cores go",
            md_title=f"CPU per {each} during the flood (us), by process",
            header=[
                *first,
                "worker(s)",
                "broker process",
                "Redis",
                "bench (producer, reader)",
                "share of the 2 cores",
            ],
            rows=cpu,
            names_first=False,
        ),
    ]


def stages_sections(report: dict[str, Any]) -> list[Section]:
    """Part 2: each stage alone in this process, beside the worker's own histograms (1-worker flood)."""
    stages = report.get("stages", {}).get("us_per_article")
    if not stages:
        return []
    in_worker = _runs(report).get("workers_1", {}).get("worker_stage_us_per_article", {})
    # The worker's histograms in the 1-worker HTML flood too, when it ran: a column of its own.
    html_run = _runs(report, "end_to_end_html").get("workers_1")
    columns = [in_worker, *([html_run.get("worker_stage_us_per_article", {})] if html_run else [])]
    index_us = report.get("index_memory", {}).get("index_us_per_article")
    rows: list[list[Cell]] = [[k, _fmt(v, 1), *[_fmt(c.get(k)) for c in columns]] for k, v in stages.items()]
    rows.append(["index (Redis, one round trip per batch)", _fmt(index_us, 1),
                 *[_fmt(c.get("index")) for c in columns]])  # fmt: skip
    rows.append(
        ["publish (send, wait for the broker's acks)", "-", *[_fmt(c.get("publish")) for c in columns]]
    )
    per_second = report.get("stages", {}).get("per_second_one_core", {})
    source = report.get("stages", {}).get("html_source", "synthetic pages")
    for kind, label in (("text", "text articles"), ("html", f"HTML pages ({source})")):
        if kind in per_second:
            rows.append(
                [f"{label} per second, prepared on one core", _fmt(per_second[kind]), *["-"] * len(columns)]
            )
    flood = "1-worker floods of articles and of HTML pages" if html_run else "1-worker flood"
    return [
        Section(
            rich_title="2. Stages, one at a time in one process (CPU us per article; index: wall, Redis "
            f"included; in the worker: its histograms, the {flood})",
            md_title="**2. Stages** (one process, CPU us per article; index: wall time; "
            f"{'last columns' if html_run else 'last column'}: the worker's own histograms during the "
            f"{flood}, wall time)",
            header=[
                "stage",
                "us/article",
                "in the worker",
                *(["in the worker, HTML pages"] if html_run else []),
            ],
            rows=rows,
        )
    ]


def index_memory_sections(report: dict[str, Any]) -> list[Section]:
    """Part 3: Redis memory, commands and round trips per indexed article."""
    memory = report.get("index_memory", {})
    if "bytes_per_article" not in memory:
        return []
    calls = ", ".join(f"{k} {v}" for k, v in list(memory["calls_per_article"].items())[:8])
    row: list[Cell] = [
        _fmt(memory["articles"]),
        _fmt(memory["unique_articles"]),
        _fmt(memory["bytes_per_article"]),
        _fmt(memory["bytes_per_unique_article"]),
        _fmt(memory["round_trips_per_article"], 4),
        _fmt(memory["script_calls_per_article"], 3),
        _fmt(memory["commands_per_article_incl_script_calls"], 1),
    ]
    header = ["articles", "unique", "bytes/article", "bytes/unique article", "round trips/article",
              "script calls (EVALSHA)/article", "commands incl. script calls/article"]  # fmt: skip
    return [
        Section(
            rich_title="3. Redis per indexed article (used_memory delta from empty; INFO commandstats)",
            md_title="**3. Index memory and commands**",
            header=header,
            rows=[row],
            note=f"Calls per article: {calls}.",
            names_first=False,
        )
    ]


def growth_sections(report: dict[str, Any]) -> list[Section]:
    """Part 4: the index call's cost at each size the index was filled to."""
    growth = report.get("growth", {})
    if not growth.get("points"):
        return []
    rows: list[list[Cell]] = [
        [
            _fmt(p["indexed_articles"]),
            _fmt(p["index_us_per_article"], 1),
            _fmt(p["batch_us_per_article"]["p50"], 1),
            _fmt(p["batch_us_per_article"]["p99"], 1),
            _fmt(p.get("redis_us_per_article"), 1),
            _fmt(p["redis_bytes_per_article"]),
            _fmt(p.get("band_evictions")),
        ]
        for p in growth["points"]
    ]
    header = ["indexed articles", "index us/article", "batch p50", "batch p99", "Redis us/article",
              "Redis bytes/article", "band evictions"]  # fmt: skip
    return [
        Section(
            rich_title="4. Index call cost as the index grows (real articles, batches of 64)",
            md_title=f"**4. Growth** (index_capacity {growth['index_capacity']:,})",
            header=header,
            rows=rows,
            names_first=False,
        )
    ]


def baseline_sections(report: dict[str, Any]) -> list[Section]:
    """Part 5: the naive pipeline beside the project's engine on the same articles, with the ratios."""
    baseline = report.get("baseline", {})
    if "naive" not in baseline:
        return []
    rows: list[list[Cell]] = []
    for name, key in (
        ("naive: datasketch + its Redis storage", "naive"),
        ("datasketch used well + its Redis storage", "well_used"),
        ("streams engine, one process", "streams"),
    ):
        if key not in baseline:
            continue
        part = baseline[key]
        rows.append(
            [
                name,
                _fmt(part["articles_per_s"]),
                _fmt(part["bytes_per_article"]),
                _fmt(part["round_trips_per_article"], 3),
                _fmt(part["commands_per_article_incl_script_calls"], 1),
            ]
        )
    ratios = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in baseline.get("ratios", {}).items())
    articles = baseline["naive"]["articles"]
    return [
        Section(
            rich_title=f"5. Beside the naive baseline, same {articles:,} articles",
            md_title=f"**5. Baseline**, same {articles:,} articles",
            header=[
                "pipeline",
                "articles/s",
                "Redis bytes/article",
                "round trips/article",
                "commands/article",
            ],
            rows=rows,
            note=f"Ratios: {ratios}.",
        )
    ]


def targets_sections(report: dict[str, Any]) -> list[Section]:
    """The targets of docs/performance.md: goal, measured value, and whether it is met."""
    targets = report.get("targets", [])
    if not targets:
        return []
    rows: list[list[Cell]] = [
        [
            t["target"],
            f"{t['op']} {t['goal']:,g}",
            _fmt(t["measured"], 1),
            "-" if t["met"] is None else t["met"],
        ]
        for t in targets
    ]
    return [
        Section(
            rich_title="Targets",
            md_title="**Targets**",
            header=["target", "goal", "measured", "met"],
            rows=rows,
        )
    ]


def report_sections(report: dict[str, Any]) -> list[Section]:
    """Every table of a report, in order; a part that was skipped or not run has none."""
    parts = (end_to_end_sections, stages_sections, index_memory_sections, growth_sections,
             baseline_sections, targets_sections)  # fmt: skip
    return [section for part in parts for section in part(report)]


def _rich_cell(cell: Cell) -> str:
    if isinstance(cell, bool):
        return "[green]yes[/green]" if cell else "[red]no[/red]"
    return cell


def report_tables(report: dict[str, Any]) -> list[Table]:
    """The rich tables of a report."""
    tables = []
    for section in report_sections(report):
        table = Table(title=section.rich_title, caption=section.note)
        for i, col in enumerate(section.header):
            table.add_column(col, justify="left" if i == 0 and section.names_first else "right")
        for row in section.rows:
            table.add_row(*map(_rich_cell, row))
        tables.append(table)
    return tables


def _md_cell(cell: Cell) -> str:
    if isinstance(cell, bool):
        return "yes" if cell else "**no**"
    return cell


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_report(report: dict[str, Any]) -> str:
    """The report's tables in Markdown, for docs/performance.md."""
    out = []
    for section in report_sections(report):
        rows = [[_md_cell(cell) for cell in row] for row in section.rows]
        text = f"{section.md_title}\n\n{_md_table(section.header, rows)}"
        out.append(text if section.note is None else f"{text}\n\n{section.note}")
    return "\n\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchOptions:
    """What ``streams bench`` was asked to do."""

    articles: int
    input_path: Path | None
    workers: tuple[int, ...]
    paced_seconds: float
    baseline_articles: int
    growth_points: tuple[int, ...]
    skip_e2e: bool
    skip_growth: bool
    skip_baseline: bool
    seed: int
    producer: str = PRODUCERS[0]
    pages_path: Path | None = None  # HTML pages for the stage costs [default: SHARED_PAGES if present]
    brokers: tuple[BrokerKind, ...] = ("tansu",)
    html_pages: int = 300  # HTML pages to run end to end (0: none)
    skip_baseline_worker: bool = False  # datasketch used well as a worker, in part 1


async def run_bench(settings: Settings, options: BenchOptions, console: Console) -> dict[str, Any]:
    """Every part of the bench; returns the report (also what ``--json`` prints)."""
    report: dict[str, Any] = {
        "command": "streams bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "streams bench",
        "machine": machine_info(),
        "settings": {k: settings.model_dump()[k] for k in (
            "shingle_kind", "shingle_size", "num_perm", "lsh_bands", "lsh_rows", "lead_bands", "lead_rows",
            "batch_max_articles", "batch_seconds", "topic_partitions", "max_candidates",
            "index_generations")},
    }  # fmt: skip
    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )  # fmt: skip
    n = options.articles
    with bar, tempfile.TemporaryDirectory(prefix="streams-bench-") as tmp:
        workdir = Path(tmp)
        gen = bar.add_task("generating articles", total=n)
        if options.input_path:
            items = file_items(options.input_path, n)
            source = f"{options.input_path} ({n} lines)"
        else:
            items = synthetic_items(n, options.seed)
            source = f"streams.tools.synthetic.generate_stream({n}, duplicate_share=0.3, seed={options.seed})"
        bar.advance(gen, n)
        report["data"] = {
            "source": source,
            "articles": n,
            "html_inputs": sum(i.is_html for i in items),
            "mean_payload_bytes": round(statistics.fmean(len(i.payload) for i in items)),
            "producer": options.producer,
        }

        def paced_source(count: int) -> list[Item]:
            if options.input_path:
                return file_items(options.input_path, count, cycle_tag=f"p{uuid.uuid4().hex[:4]}")
            return synthetic_items(count, options.seed + 1 + random.randrange(10**6), prefix="paced-")

        if options.skip_e2e:
            report["end_to_end"] = {"skipped": True}
        else:
            report["end_to_end"] = {}
            if not options.skip_baseline_worker:
                report["end_to_end_well_used"] = {}
            for broker_kind in options.brokers:
                for workers in options.workers:
                    result = await asyncio.to_thread(
                        run_end_to_end,
                        settings,
                        workers,
                        items,
                        paced_source,
                        options.paced_seconds,
                        workdir,
                        bar,
                        options.producer,
                        broker_kind,
                    )
                    report["end_to_end"][e2e_key(broker_kind, workers)] = result
                # The baseline as a worker, as many processes, the same flood, a fresh broker and Redis.
                for workers in () if options.skip_baseline_worker else options.workers:
                    report["end_to_end_well_used"][e2e_key(broker_kind, workers)] = await asyncio.to_thread(
                        run_end_to_end,
                        settings,
                        workers,
                        items,
                        paced_source,
                        0.0,
                        workdir,
                        bar,
                        options.producer,
                        broker_kind,
                        baseline=True,
                    )
        html_source = options.pages_path or (SHARED_PAGES if SHARED_PAGES.exists() else None)
        if not options.skip_e2e and options.html_pages:
            report["end_to_end_html"] = await run_end_to_end_html(
                settings, options, html_source, workdir, bar
            )
        with start_redis(workdir / "redis") as redis_server:
            redis_url = redis_server.url
            report["machine"]["redis_version"] = sync_redis(redis_url).info("server").get("redis_version")
            config = PrepareConfig.from_settings(settings)
            sample = items[: min(n, 2000)]
            pages = min(200, max(20, n // 10))
            html = page_items(html_source, pages) if html_source else html_items(pages, options.seed + 7)
            report["stages"] = measure_stages(sample, html, config)
            report["stages"]["html_source"] = str(html_source) if html_source else "synthetic pages"
            task = bar.add_task("fingerprinting all articles", total=n)
            prepared = []
            for item in items:
                p = prepare(item.payload, config)
                if isinstance(p, PreparedArticle):
                    prepared.append(p)
                bar.advance(task)
            report["index_memory"] = await measure_index_memory(redis_url, settings, prepared, bar)
            if options.skip_growth:
                report["growth"] = {"skipped": True}
            else:
                report["growth"] = await measure_growth(
                    redis_url, settings, prepared, options.growth_points, bar
                )
            if options.skip_baseline:
                report["baseline"] = {"skipped": True}
            else:
                same = items[: min(n, options.baseline_articles)]
                naive = await asyncio.to_thread(measure_naive, redis_url, same, bar)
                well = await asyncio.to_thread(measure_naive, redis_url, same, bar, True)
                ours = await measure_project_offline(redis_url, settings, same, bar)
                report["baseline"] = {
                    "naive": naive,
                    "well_used": well,
                    "streams": ours,
                    "ratios": baseline_ratios(report, naive, ours, well),
                }
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = target_rows(report)
    return report


async def run_end_to_end_html(
    settings: Settings, options: BenchOptions, source: Path | None, workdir: Path, bar: Progress
) -> dict[str, Any]:
    """Part 1 on HTML input: the same runs (every broker and worker count) on ``options.html_pages`` pages,
    the real pages of ``source`` repeated (synthetic pages without one)."""
    n = options.html_pages
    limit = KAFKA_DEFAULT_MAX_MESSAGE_BYTES
    if source:
        flood = page_items(source, n, prefix="html", max_payload_bytes=limit)
        fitting, everything = len(page_htmls(source, limit)), len(page_htmls(source))
        described = (
            f"{n:,} copies of {fitting} of the {everything} pages of {source} (those under 1 MiB, Kafka's "
            "default message limit), each under its own id and URL (after the first round, the copies are "
            "decided duplicates; the paced run sends fresh copies)"
        )
    else:
        flood = html_items(n, options.seed + 11)
        fitting, described = n, f"{n:,} synthetic pages (the HTML copy of fresh originals)"

    def paced_source(count: int) -> list[Item]:
        prefix = f"html-paced-{uuid.uuid4().hex[:4]}"
        if source:
            return page_items(source, count, prefix=prefix, max_payload_bytes=limit)
        return html_items(count, options.seed + 12 + random.randrange(10**6))

    result: dict[str, Any] = {
        "source": described,
        "pages": n,
        "distinct_pages": min(n, fitting),
        "mean_payload_bytes": round(statistics.fmean(len(i.payload) for i in flood)),
    }
    for broker_kind in options.brokers:
        for workers in options.workers:
            result[e2e_key(broker_kind, workers)] = await asyncio.to_thread(
                run_end_to_end,
                settings,
                workers,
                flood,
                paced_source,
                options.paced_seconds,
                workdir,
                bar,
                options.producer,
                broker_kind,
                True,
            )
    return result


def baseline_ratios(
    report: dict[str, Any],
    naive: dict[str, Any],
    ours: dict[str, Any],
    well: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Project over each baseline for throughput (end to end, one process); baseline over it for memory.

    Against the naive recipe the keys have no suffix (``offline_throughput_x``, ``e2e_<run>_throughput_x``,
    ``memory_naive_over_streams_x``...); against datasketch used well they end in ``_vs_well_used_x`` or
    read ``..._well_used_over_streams_x``; against datasketch used well run as a worker, each end-to-end
    run over the baseline's with as many processes on the same broker: ``e2e_<run>_vs_well_used_worker_x``.
    """
    ratios: dict[str, float] = {}
    for baseline, throughput_suffix, name in ((naive, "_x", "naive"), (well, "_vs_well_used_x", "well_used")):
        if baseline is None:
            continue
        rate = max(1e-9, baseline["articles_per_s"])
        ratios[f"offline_throughput{throughput_suffix}"] = round(ours["articles_per_s"] / rate, 1)
        for key, run in report.get("end_to_end", {}).items():
            if isinstance(run, dict) and "max_rate" in run:
                ratios[f"e2e_{key}_throughput{throughput_suffix}"] = round(
                    run["max_rate"]["articles_per_s"] / rate, 1
                )
        ratios[f"memory_{name}_over_streams_x"] = round(
            baseline["bytes_per_article"] / max(1e-9, ours["bytes_per_article"]), 1
        )
        ratios[f"round_trips_{name}_over_streams_x"] = round(
            baseline["round_trips_per_article"] / max(1e-9, ours["round_trips_per_article"]), 0
        )
    for key, ratio in e2e_over_baseline_worker(report).items():
        ratios[f"e2e_{key}_vs_well_used_worker_x"] = round(ratio, 1)
    return ratios


def e2e_over_baseline_worker(report: dict[str, Any]) -> dict[str, float]:
    """Each end-to-end max rate over that of datasketch used well as a worker with as many processes on
    the same broker (like with like: both behind Kafka), by run key; runs without their twin are left out."""
    twins = _runs(report, "end_to_end_well_used")
    return {
        key: run["max_rate"]["articles_per_s"] / max(1e-9, twins[key]["max_rate"]["articles_per_s"])
        for key, run in _runs(report).items()
        if key in twins
    }


def _int_list(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(float(x)) for x in value.split(",") if x.strip())
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from exc


def _options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply click options in the order written (the first one listed first in --help)."""

    def apply(function: Any) -> Any:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def option(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """A click option that shows its default in --help."""
    return click.option(*args, show_default=kwargs.pop("show_default", True), **kwargs)


@click.command()
@_options(
    option("--articles", "-n", type=click.IntRange(10), default=20_000, show_default=True,
           help="Articles to run end to end and to index."),
    option("--input", "input_path", default=None,
           type=click.Path(exists=True, dir_okay=False, path_type=Path),
           help="JSONL articles instead of synthetic ones (repeated with new ids if shorter)."),
    option("--workers", "workers", default="1,2", show_default=True,
           help="Worker process counts to run end to end, comma separated."),
    option("--paced-seconds", type=float, default=10.0, show_default=True,
           help="How long to produce at half the max rate."),
    option("--baseline-articles", type=click.IntRange(10), default=2000, show_default=True,
           help="Articles (the first of the same data) for the naive baseline and its twin."),
    option("--growth-points", default="10000,100000,1000000", show_default=True,
           help="Index sizes at which to time the index call."),
    option("--skip-e2e", is_flag=True, help="Skip part 1 (broker and workers)."),
    option("--skip-growth", is_flag=True, help="Skip part 4 (filling the index to 1M takes minutes)."),
    option("--skip-baseline", is_flag=True, help="Skip part 5."),
    option("--skip-baseline-worker", is_flag=True,
           help="In part 1, skip the flood through datasketch used well run as a worker (as many processes "
           "as each worker count)."),
    option("--seed", type=int, default=1, show_default=True, help="Seed of the synthetic articles."),
    option("--pages", "pages_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
           default=None, help="Real HTML pages (streams eval --pages format) for the HTML stage "
           "[default: ../shared/data/pages.jsonl.gz if present, else synthetic pages]."),
    option("--html-pages", type=click.IntRange(0), default=300, show_default=True,
           help="HTML pages (those of the HTML stage, repeated) to run end to end after the articles, "
           "with the same workers and brokers (0: none)."),
    option("--producer", type=click.Choice(PRODUCERS), default=PRODUCERS[0], show_default=True,
           help="Client that produces the raw articles end to end (it shares the cores it measures)."),
    option("--broker", "broker", type=click.Choice([*BROKER_KINDS, "both"]), default="tansu",
           show_default=True, help="Broker of part 1: embedded tansu, Apache Kafka, or both in turn."),
    option("--json", "as_json", is_flag=True,
           help="Print the report as JSON on stdout (progress on stderr)."),
    option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
           help="Also write the JSON report to this file."),
    option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
           help="Also write the tables as Markdown to this file."),
)  # fmt: skip
def bench(
    articles: int,
    input_path: Path | None,
    workers: str,
    paced_seconds: float,
    baseline_articles: int,
    growth_points: str,
    skip_e2e: bool,
    skip_growth: bool,
    skip_baseline: bool,
    skip_baseline_worker: bool,
    seed: int,
    pages_path: Path | None,
    html_pages: int,
    producer: str,
    broker: str,
    as_json: bool,
    output_path: Path | None,
    markdown_path: Path | None,
) -> None:
    """Throughput, latency, stage costs, index memory and growth, beside the naive baseline."""
    settings = load_settings()
    quiet_clients()
    worker_counts = _int_list(workers)
    if not worker_counts or any(w < 1 or w > 8 for w in worker_counts):
        raise click.BadParameter("--workers takes counts between 1 and 8, e.g. 1,2")
    options = BenchOptions(
        articles=articles, input_path=input_path, workers=worker_counts, paced_seconds=paced_seconds,
        baseline_articles=baseline_articles, growth_points=_int_list(growth_points), skip_e2e=skip_e2e,
        skip_growth=skip_growth, skip_baseline=skip_baseline, seed=seed, producer=producer,
        pages_path=pages_path, html_pages=html_pages, skip_baseline_worker=skip_baseline_worker,
        brokers=BROKER_KINDS if broker == "both" else (cast(BrokerKind, broker),),
    )  # fmt: skip
    console = Console(stderr=as_json, width=None if sys.stdout.isatty() else 150)
    with explained_errors(settings):
        report = run_async(run_bench(settings, options, console))
    text = json.dumps(report, indent=2, default=str)
    if output_path:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(text + "\n", encoding="utf-8")
    if markdown_path:
        markdown_path.write_text(markdown_report(report), encoding="utf-8")
    if as_json:
        print(text)
        return
    for table in report_tables(report):
        console.print(table)
    console.print(f"[dim]machine: {report['machine']}[/dim]")
