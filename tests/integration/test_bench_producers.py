"""The bench's two producers deliver every article, stamped, to the partition its key hashes to."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.tools.bench import PRODUCERS, Item, make_producer
from streams.tools.localstack import BrokerProcess, create_topics

pytestmark = pytest.mark.integration


def _read_all(
    broker: BrokerProcess, topic: str, partitions: int, expected: int
) -> dict[bytes, tuple[int, int]]:
    consumer = KafkaConsumer(bootstrap_servers=[broker.bootstrap], enable_auto_commit=False)
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        seen: dict[bytes, tuple[int, int]] = {}
        deadline = time.monotonic() + 60
        while len(seen) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    seen[record.key] = (record.partition, record.timestamp)
        return seen
    finally:
        consumer.close()


def test_both_producers_put_each_key_in_the_same_partition_with_its_send_time(broker: BrokerProcess):
    items = [Item(f"article-{i}".encode(), b'{"n": %d}' % i, f"article-{i}", False) for i in range(60)]
    placed: dict[str, dict[bytes, tuple[int, int]]] = {}
    for kind in PRODUCERS:
        topic = f"bench-producer-{kind}-{uuid.uuid4().hex[:6]}"
        create_topics(broker.bootstrap, [topic], 4)
        producer = make_producer(kind, broker.bootstrap, topic, linger_ms=5)
        sent = {item.key: producer.send(item) for item in items}
        producer.close()
        assert producer.failed == 0
        placed[kind] = _read_all(broker, topic, 4, len(items))
        assert set(placed[kind]) == set(sent), kind
        assert all(placed[kind][key][1] == stamp for key, stamp in sent.items()), kind
    partitions = {kind: {key: p for key, (p, _) in seen.items()} for kind, seen in placed.items()}
    assert partitions["confluent-kafka"] == partitions["kafka-python"]
    assert len(set(partitions["kafka-python"].values())) == 4  # spread, not all on one partition


def test_an_unknown_producer_is_refused():
    with pytest.raises(ValueError, match="unknown producer"):
        make_producer("pykafka", "127.0.0.1:1", "raw", linger_ms=5)
