"""On Apache Kafka, the worker's lag agrees with the broker's own: ``kafka-consumer-groups --describe``.

The worker reports, per raw partition, the end offset minus the next offset it has to decide; the status
page shows their sum. Kafka's tool reports the log end offset minus the group's committed offset. Both are
read where they must be equal: after a wave is decided and committed (zero), and while Redis is down and a
second wave waits undecided behind the committed offsets (the whole wave).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.tools.localstack import BrokerProcess, create_topics, free_port, kafka_tool, start_redis
from tests.conftest import article, make_settings, produce, session_broker_kind
from tests.monitoring.support import http_get, metric_values, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        session_broker_kind() != "kafka", reason="needs Apache Kafka (STREAMS_TEST_BROKER=kafka)"
    ),
]

CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


def broker_lag(broker: BrokerProcess, group: str, topic: str) -> dict[int, int]:
    """The LAG column of ``kafka-consumer-groups --describe --group`` for ``topic``, by partition.

    A partition the group has not committed on shows ``-``: it is left out, so a caller waiting for every
    partition sees the difference.
    """
    text = kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    lines = [line.split() for line in text.splitlines() if line.strip()]
    header = next(line for line in lines if "LAG" in line and "PARTITION" in line)
    col = {name: i for i, name in enumerate(header)}
    lag: dict[int, int] = {}
    for row in lines:
        if len(row) == len(header) and row[col["TOPIC"]] == topic and row[col["LAG"]] != "-":
            lag[int(row[col["PARTITION"]])] = int(row[col["LAG"]])
    return lag


def worker_lag(port: int, topic: str) -> dict[int, int]:
    """``streams_consumer_lag_messages`` of the worker's /metrics for ``topic``, by partition."""
    metrics = http_get(f"http://127.0.0.1:{port}/metrics").decode()
    return {
        int(labels["partition"]): int(value)
        for labels, value in metric_values(metrics, "streams_consumer_lag_messages")
        if labels["topic"] == topic
    }


def status_lag(port: int) -> Any:
    return json.loads(http_get(f"http://127.0.0.1:{port}/api/status"))["consumer_lag"]


def send_wave(broker: BrokerProcess, topic: str, tag: str, count: int) -> None:
    """``count`` articles, keyed so that every partition gets some (unkeyed, one batch goes to one)."""
    payloads = [
        article(f"https://{tag}.example/{i}", f"Story {tag} {i}: " + f"{tag}{i} words of its own " * 20)
        for i in range(count)
    ]
    produce(broker, topic, payloads, [f"{tag}-{i}".encode() for i in range(count)])


def test_worker_and_status_page_lag_match_kafka_consumer_groups(broker, worker_factory, tmp_path):
    """Zero once a wave is decided and committed; the held-back wave, partition by partition, while Redis
    is down; zero again once Redis is back."""
    redis = start_redis(tmp_path / "redis")
    try:
        settings = make_settings(broker, redis.url, redis_backoff_cap_seconds=1.0, redis_retries=1)
        raw = settings.topic_raw
        create_topics(broker.bootstrap, [raw, *settings.output_topics], settings.topic_partitions)
        port = free_port()
        worker_factory(settings, STREAMS_WEB_PORT=str(port))
        every = set(range(settings.topic_partitions))

        def views() -> tuple[dict[int, int], dict[int, int], Any]:
            return worker_lag(port, raw), broker_lag(broker, settings.app_id, raw), status_lag(port)

        send_wave(broker, raw, "first", 24)

        # Committed on every partition (each got some of the wave), nothing left, in every view.
        def settled() -> Any:
            v = views()
            return set(v[0]) == set(v[1]) == every and not any(v[0].values()) and not any(v[1].values()) and v

        worker, kafka, page = wait_until(settled, 90, "lag 0")
        assert worker == kafka == dict.fromkeys(every, 0)
        assert page == 0

        redis.stop()
        send_wave(broker, raw, "second", 30)
        worker, kafka, page = wait_until(
            lambda: (v := views()) and sum(v[0].values()) == 30 and v, 60, "the wave as lag"
        )
        assert kafka == worker
        assert sum(kafka.values()) == page == 30

        redis.restart()  # the same port: the worker's Redis URL
        worker, kafka, page = wait_until(settled, 90, "lag 0 again")
        assert worker == kafka == dict.fromkeys(every, 0)
        assert page == 0
    finally:
        redis.stop()
