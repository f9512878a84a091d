"""The Scrapy pipeline against the real broker: items in, articles.raw messages out."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import scrapy
from kafka import KafkaConsumer, TopicPartition
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from streams.fingerprint import article_id_for
from streams.scrapy_pipeline import StreamsPipeline
from streams.tools.localstack import BrokerProcess, create_topics

pytestmark = pytest.mark.integration

TEXT = (
    "The harbour authority reopened the northern pier on Monday after three months of repairs, "
    "and the first ferry of the season docked there in the afternoon with two hundred passengers."
)


class NewsItem(scrapy.Item):
    url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    section = scrapy.Field()


def read_topic(
    bootstrap: str, topic: str, partitions: int, expected: int, timeout: float = 60.0
) -> list[tuple[bytes, dict]]:
    """Every (key, JSON value) on a topic from the beginning, once ``expected`` arrived or at the deadline."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        messages: list[tuple[bytes, dict]] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            messages.extend((m.key, json.loads(m.value)) for m in consumer)
        return messages
    finally:
        consumer.close()


def test_pipeline_publishes_valid_items_and_drops_invalid_ones(broker: BrokerProcess):
    """A dict and a scrapy.Item reach the topic keyed by article id; an item without url is dropped."""
    topic = f"scrapy-{uuid.uuid4().hex[:8]}.raw"
    create_topics(broker.bootstrap, [topic], partitions=2)
    crawler = get_crawler(settings_dict={"STREAMS_BROKER": broker.url, "STREAMS_TOPIC_RAW": topic})
    pipeline = StreamsPipeline.from_crawler(crawler)
    plain = {"url": "https://a.example/pier", "title": "Pier reopens", "text": TEXT, "id": "a-1"}
    item = NewsItem(
        url="https://b.example/ferry?utm_source=rss", title=["Ferry"], text=[TEXT], section="local"
    )

    pipeline.open_spider()
    assert pipeline.process_item(plain) is plain
    assert pipeline.process_item(item) is item
    with pytest.raises(DropItem, match="missing_url"):
        pipeline.process_item({"title": "no url", "text": TEXT})
    pipeline.close_spider()

    received = read_topic(broker.bootstrap, topic, partitions=2, expected=2)
    assert len(received) == 2
    assert dict(received) == {
        b"a-1": {**plain, "source": "a.example"},
        article_id_for("https://b.example/ferry").encode(): {
            "url": "https://b.example/ferry?utm_source=rss",
            "title": "Ferry",
            "text": TEXT,
            "section": "local",
            "source": "b.example",
        },
    }
    stats = crawler.stats.get_stats()
    assert (stats["streams/sent"], stats["streams/delivered"], stats["streams/failed"]) == (2, 2, 0)
    assert stats["streams/invalid"] == 1
