"""Helpers of the reliability scenarios: send with positions, read decisions back, watch workers.

Every scenario runs against the session's real broker (tansu, or Apache Kafka with
STREAMS_TEST_BROKER=kafka) and real Redis servers; nothing is mocked. Each scenario prints one summary
line (sent, decided, violating) and the lines are repeated in the terminal summary under "reliability
scenarios".
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from streams.settings import Settings
from streams.tools.localstack import BrokerProcess, create_topics
from tests.conftest import make_settings
from tests.reliability.invariants import Output, Report, Sent, check, decode_output, expected_id

SUMMARIES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Repeat every scenario's summary line at the end of the run."""
    if SUMMARIES:
        terminalreporter.section("reliability scenarios")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


def report(result: Report) -> Report:
    """Print a scenario's summary line and keep it for the terminal summary."""
    print(result.summary())
    SUMMARIES.append(result.summary())
    return result


def settings_with_redis(broker: BrokerProcess, redis_url: str, **overrides: Any) -> Settings:
    """Per-test settings (own topics, group and namespace) against a Redis of the test's own."""
    settings = make_settings(broker, redis_url, **overrides)
    create_topics(broker.bootstrap, [settings.topic_raw, *settings.output_topics], settings.topic_partitions)
    return settings


def labelled(article: dict[str, Any]) -> tuple[bytes, str | None]:
    """The input bytes of a generated article without its labels, and its story label."""
    body = {k: v for k, v in article.items() if not k.startswith("label_")}
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), article.get("label_cluster")


class Sender:
    """A producer that records where the broker put every message (partition and offset)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = KafkaProducer(
            bootstrap_servers=[bootstrap], acks="all", linger_ms=10, retries=5, max_request_size=8_000_000
        )
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def send(
        self,
        payloads: Iterable[bytes],
        *,
        keys: Sequence[bytes | None] | None = None,
        stories: Sequence[str | None] | None = None,
        partitions: Sequence[int | None] | None = None,
    ) -> list[Sent]:
        """Send payloads and wait for the broker to confirm each; returns them with their positions."""
        items = list(payloads)
        ids = [expected_id(payload) for payload in items]
        futures = [
            self.producer.send(
                self.topic,
                value=payload,
                # Keyed by article id, as the crawler's producer does: copies spread over partitions.
                key=keys[i] if keys else (ids[i].encode() if ids[i] else None),
                partition=partitions[i] if partitions else None,
            )
            for i, payload in enumerate(items)
        ]
        self.producer.flush(timeout=60)
        done = []
        for i, future in enumerate(futures):
            meta = future.get(timeout=60)
            done.append(Sent(meta.partition, meta.offset, items[i], ids[i], stories[i] if stories else None))
        with self._lock:
            self.sent.extend(done)
        return done

    def close(self) -> None:
        self.producer.close(timeout=10)


class Decisions:
    """A reader of the output topics from their beginning that keeps every record it has seen."""

    def __init__(self, bootstrap: str, settings: Settings) -> None:
        self.settings = settings
        self.consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
        parts = [
            TopicPartition(t, p) for t in settings.output_topics for p in range(settings.topic_partitions)
        ]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.outputs: list[Output] = []

    def poll(self, seconds: float = 0.5) -> list[Output]:
        """Read what arrived (waiting up to ``seconds``); returns every record seen so far."""
        for records in self.consumer.poll(timeout_ms=int(seconds * 1000), max_records=5000).values():
            for r in records:
                self.outputs.append(decode_output(r.topic, r.key, r.value))
        return self.outputs

    def catch_up(self, timeout: float = 30.0, busy: float = 2.0) -> list[Output]:
        """Read at least everything published before the call; returns every record seen so far.

        Reads to the end offsets the broker lists now (tansu lists the base offset of a partition's last
        batch, so that is a lower bound) and on to the high watermark of later fetches, until a poll
        comes back empty, or for at most ``busy`` seconds while workers keep publishing.
        """
        parts = list(self.consumer.assignment())
        listed = self.consumer.end_offsets(parts)
        started = time.monotonic()
        while True:
            before = len(self.outputs)
            self.poll(0.3)
            ends = {tp: max(listed[tp], self.consumer.highwater(tp) or 0) for tp in parts}
            caught_up = all(self.consumer.position(tp) >= end for tp, end in ends.items())
            elapsed = time.monotonic() - started
            if caught_up and (len(self.outputs) == before or elapsed > busy):
                return self.outputs
            if elapsed > timeout:
                pytest.fail("could not read the output topics to their end")

    def check(self, name: str, sent: Sequence[Sent]) -> Report:
        return check(name, sent, self.outputs, self.settings.topic_raw)

    def wait_all_decided(self, sent: Sequence[Sent], timeout: float, settle: float = 2.0) -> Report:
        """Read until every sent message has a decision (or ``timeout``), then ``settle`` seconds more."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if self.check("progress", sent).decided == len(sent):
                break
        end = time.monotonic() + settle
        while time.monotonic() < end:
            self.poll(0.2)
        return self.check("final", sent)

    def close(self) -> None:
        self.consumer.close()


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The consumer group's committed offset per partition of ``topic`` (absent: never committed)."""
    admin = KafkaAdminClient(bootstrap_servers=[bootstrap], client_id="reliability-probe")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {
        tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
    }


def undecided_below_commit(committed: dict[int, int], sent: Sequence[Sent], outputs: Sequence[Output],
                           raw_topic: str) -> list[Sent]:  # fmt: skip
    """Messages below a committed offset that have no decision: a commit of something not decided."""
    from tests.reliability.invariants import match_outputs

    matched, _ = match_outputs(sent, outputs, raw_topic)
    return [s for i, s in enumerate(sent) if s.offset < committed.get(s.partition, 0) and i not in matched]


def samples(port: str | int, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one metric on a worker's /metrics page, as (labels, value)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", re.MULTILINE)
    return [
        (dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value))
        for labels, value in pattern.findall(text)
    ]


def metric(port: str | int, name: str) -> float:
    """The sum over label sets of one metric on a worker's /metrics page (0 if absent)."""
    return sum(value for _, value in samples(port, name))


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass  # a worker's web server that is not up yet
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def orphaned_children(app_id: str, live_parents: Iterable[int]) -> list[int]:
    """Processes of a worker of ``app_id`` (extraction pool, offload process, resource tracker) whose
    worker is gone."""
    live = set(live_parents)
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
        if (
            f"STREAMS_APP_ID={app_id}".encode() in environ
            and b"multiprocessing" in cmdline
            and ppid not in live
        ):
            found.append(int(proc.name))
    return found


def log_text(proc: Any) -> str:
    """A worker's log so far."""
    return str(proc.log_path.read_text(errors="replace"))
