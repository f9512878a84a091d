"""Session fixtures: a real Kafka-protocol broker and a real Redis, started on free ports.

The broker is the embedded tansu, or Apache Kafka with ``STREAMS_TEST_BROKER=kafka`` (scripts/test.sh
runs the broker suites on both). Nothing here mocks a service. The broker and Redis are started once
per test session (only when a test asks for them) and stopped at the end; each test gets its own topic
names, consumer group and index namespace, so tests do not see each other's messages or index entries.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.settings import Settings
from streams.tools.localstack import (
    BROKER_KINDS,
    BrokerKind,
    BrokerProcess,
    RedisProcess,
    WorkerProcess,
    create_settings_topics,
    start_broker,
    start_redis,
    start_worker,
)

_counter = itertools.count()


def session_broker_kind() -> BrokerKind:
    """The broker the session runs on: ``$STREAMS_TEST_BROKER``, tansu by default."""
    kind = os.environ.get("STREAMS_TEST_BROKER", "tansu")
    for known in BROKER_KINDS:
        if kind == known:
            return known
    raise pytest.UsageError(f"STREAMS_TEST_BROKER={kind!r}: expected one of {', '.join(BROKER_KINDS)}")


def pytest_report_header() -> str:
    return f"broker: {session_broker_kind()} (STREAMS_TEST_BROKER)"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """The broker for the whole session: tansu, or Apache Kafka with ``STREAMS_TEST_BROKER=kafka``."""
    with start_broker(tmp_path_factory.mktemp("broker"), kind=session_broker_kind()) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A redis-server (or embedded Valkey) for the whole session."""
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisProcess) -> str:
    return redis_server.url


def make_settings(broker: BrokerProcess | None, redis_url: str, **overrides: Any) -> Settings:
    """Settings with unique topics, consumer group and index namespace for one test."""
    tag = f"t{next(_counter)}{uuid.uuid4().hex[:6]}"
    values: dict[str, Any] = {
        "broker": broker.url if broker else "kafka://127.0.0.1:1",
        "redis_url": redis_url,
        "app_id": f"streams-{tag}",
        "namespace": f"test-{tag}",
        "topic_raw": f"{tag}.raw",
        "topic_unique": f"{tag}.unique",
        "topic_duplicates": f"{tag}.duplicates",
        "topic_rejected": f"{tag}.rejected",
        "index_capacity": 10_000,
        "broker_session_timeout_seconds": 6,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_factory(broker: BrokerProcess, redis_url: str) -> Callable[..., Settings]:
    """Make per-test settings pointing at the session's broker and Redis, topics created."""

    def factory(**overrides: Any) -> Settings:
        settings = make_settings(broker, redis_url, **overrides)
        create_settings_topics(broker, settings)
        return settings

    return factory


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start ``streams worker`` processes for settings; every one is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "worker", **extra_env: str) -> WorkerProcess:
        proc = start_worker(settings, tmp_path / f"{name}-{len(started)}.log", **extra_env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop(timeout=10)


def produce(
    broker: BrokerProcess, topic: str, payloads: list[bytes], keys: list[bytes | None] | None = None
) -> None:
    """Publish raw payloads and wait until the broker confirmed every one."""
    from streams.client import ArticleProducer

    with ArticleProducer([broker.bootstrap], topic, max_bytes=30_000_000) as producer:
        for i, payload in enumerate(payloads):
            producer.send_raw(keys[i] if keys else None, payload)


def read_outputs(
    broker: BrokerProcess, settings: Settings, expected: int, timeout: float = 90.0, settle: float = 0.0
) -> list[dict[str, Any]]:
    """Every decision on the output topics (from the beginning), once ``expected`` arrived.

    With ``settle``, keep reading that many more seconds to catch decisions beyond the expected count.
    """
    from streams.tools.localdev import read_decisions

    decisions = read_decisions(settings, broker.bootstrap, expected, timeout)
    if settle:
        time.sleep(settle)
        decisions = read_decisions(settings, broker.bootstrap, 10**9, settle)
    return decisions


def article(url: str, text: str, **fields: Any) -> bytes:
    """One input message."""
    return json.dumps({"url": url, "text": text, **fields}).encode()
