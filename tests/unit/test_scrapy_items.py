"""The Scrapy pipeline's item to article conversion and its settings, without a broker."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
import scrapy
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from streams.fingerprint import article_id_for
from streams.scrapy_pipeline import (
    NotAnArticleError,
    StreamsPipeline,
    bootstrap_servers,
    encode_item,
    item_to_article,
    kafka_security_options,
    settings_from_scrapy,
)
from streams.settings import Settings

TEXT = "A long enough paragraph of news text that the worker will accept as an article body. " * 2


class NewsItem(scrapy.Item):
    url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    published_at = scrapy.Field()
    section = scrapy.Field()


@dataclass
class DataclassItem:
    url: str
    html: str


def test_dict_item_keeps_its_fields_and_gets_the_host_as_source():
    """Known fields are kept, unknown ones pass through, source defaults to the URL's host."""
    article = item_to_article({"url": " https://News.Example.com/a ", "text": TEXT, "section": "local"})
    assert article == {
        "url": "https://News.Example.com/a",
        "text": TEXT,
        "section": "local",
        "source": "news.example.com",
    }


def test_a_given_source_is_kept():
    """An explicit source wins over the URL's host."""
    assert item_to_article({"url": "https://x.example/a", "text": TEXT, "source": "Wire"})["source"] == "Wire"


def test_scrapy_item_lists_and_dates_are_flattened():
    """ItemLoader-style lists are unwrapped, text paragraphs joined, datetimes become ISO strings."""
    item = NewsItem(
        url=["https://x.example/a"],
        title=["Title"],
        text=["First paragraph.", "Second paragraph."],
        published_at=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        section="world",
    )
    article = item_to_article(item)
    assert article["url"] == "https://x.example/a"
    assert article["title"] == "Title"
    assert article["text"] == "First paragraph.\n\nSecond paragraph."
    assert article["published_at"] == "2025-01-02T03:04:05+00:00"
    assert article["section"] == "world"


def test_dataclass_items_and_utf8_bytes_are_accepted():
    """Any itemadapter item type works; HTML given as UTF-8 bytes is decoded."""
    article = item_to_article(DataclassItem(url="https://x.example/a", html="<p>é</p>".encode()))
    assert article["html"] == "<p>é</p>"


def test_empty_optional_fields_are_left_out():
    """A blank title or None language is the same as no field at all."""
    article = item_to_article({"url": "https://x.example/a", "text": TEXT, "title": "  ", "language": None})
    assert "title" not in article
    assert "language" not in article


def test_encoded_item_is_keyed_by_the_id_the_worker_gives_it():
    """The key is the item's id, else the canonical URL hash; the value is the article JSON."""
    key, value = encode_item({"url": "https://x.example/a?utm_source=x", "text": TEXT}, 2_000_000)
    assert key == article_id_for("https://x.example/a").encode()
    assert json.loads(value)["source"] == "x.example"
    key, _ = encode_item({"url": "https://x.example/a", "text": TEXT, "id": 42}, 2_000_000)
    assert key == b"42"


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"text": TEXT}, "missing_url"),
        ({"url": "ftp://x.example/a", "text": TEXT}, "invalid_url"),
        ({"url": "https://x.example/a", "title": "no body"}, "empty_text"),
        ({"url": "https://x.example/a", "text": "   "}, "empty_text"),
        ({"url": "https://x.example/a", "text": TEXT, "published_at": "yesterday"}, "invalid_field"),
        ({"url": "https://x.example/a", "text": TEXT, "title": ["one", "two"]}, "invalid_field"),
        ({"url": "https://x.example/a", "html": b"\xff\xfe"}, "bad_encoding"),
        ({"url": "https://x.example/a", "text": "x" * 5000}, "too_large"),
    ],
)
def test_items_the_worker_would_reject_are_refused_with_its_code(item, code):
    """Every contract violation is caught before sending, with the worker's rejection code."""
    with pytest.raises(NotAnArticleError) as caught:
        encode_item(item, max_bytes=2048)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("broker", "servers"),
    [
        ("kafka://a:9092", ["a:9092"]),
        ("kafka://a:9092,b:9092", ["a:9092", "b:9092"]),
        ("a:9092;kafka://b:9092", ["a:9092", "b:9092"]),
        (["kafka://a:9092", "b:9092"], ["a:9092", "b:9092"]),
    ],
)
def test_broker_lists_in_every_accepted_form(broker, servers):
    """kafka:// URLs, host:port lists and Python lists all give kafka-python's server list."""
    assert bootstrap_servers(broker) == servers


def test_scrapy_settings_win_over_the_environment(monkeypatch):
    """STREAMS_* Scrapy settings override STREAMS_* environment variables, which fill the rest."""
    monkeypatch.setenv("STREAMS_BROKER", "env-host:9092")
    monkeypatch.setenv("STREAMS_TOPIC_RAW", "env.raw")
    crawler = get_crawler(settings_dict={"STREAMS_BROKER": ["s1:9092", "kafka://s2:9092"]})
    settings = settings_from_scrapy(crawler.settings)
    assert bootstrap_servers(settings.broker) == ["s1:9092", "s2:9092"]
    assert settings.topic_raw == "env.raw"


def test_sasl_and_tls_settings_become_kafka_python_options():
    """The workers' broker security settings configure the crawler's producer the same way."""
    settings = Settings(
        broker_credentials_username="crawler",
        broker_credentials_password="secret",
        broker_sasl_mechanism="SCRAM-SHA-512",
        broker_ssl=True,
        broker_ssl_cafile="/etc/ca.pem",
    )
    assert kafka_security_options(settings) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "crawler",
        "sasl_plain_password": "secret",
        "ssl_cafile": "/etc/ca.pem",
    }
    assert kafka_security_options(Settings(broker_ssl=True)) == {"security_protocol": "SSL"}
    assert kafka_security_options(Settings()) == {}


def test_invalid_item_is_dropped_and_counted_before_any_connection():
    """process_item validates first: a bad item raises DropItem and counts streams/invalid."""
    crawler = get_crawler()
    pipeline = StreamsPipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match="missing_url"):
        pipeline.process_item({"title": "no url", "text": TEXT})
    assert crawler.stats.get_value("streams/invalid") == 1
    assert crawler.stats.get_value("streams/invalid/missing_url") == 1


def test_scrapy_loads_the_pipeline_from_the_one_line_setting_without_warnings():
    """ITEM_PIPELINES with the documented path builds the pipeline; no deprecated signatures."""
    from scrapy.pipelines import ItemPipelineManager

    crawler = get_crawler(settings_dict={"ITEM_PIPELINES": {"streams.scrapy_pipeline.StreamsPipeline": 800}})
    manager = ItemPipelineManager.from_crawler(crawler)  # warnings are errors in this suite
    assert [type(mw).__name__ for mw in manager.middlewares] == ["StreamsPipeline"]


def test_module_imports_without_scrapy_and_names_the_extra_when_it_is_missing(monkeypatch):
    """Importing the module does not import Scrapy; using the pipeline without it gives the pip line."""
    import subprocess
    import sys

    code = "import sys, streams.scrapy_pipeline; assert 'scrapy' not in sys.modules, 'scrapy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "scrapy.exceptions", None)
    with pytest.raises(ImportError, match=r'pip install "streams\[scrapy\]"'):
        StreamsPipeline(Settings())
