"""A Scrapy item pipeline that publishes every scraped article to ``articles.raw``.

A crawler project adds one line to its Scrapy settings::

    ITEM_PIPELINES = {"streams.scrapy_pipeline.StreamsPipeline": 800}

and points it at the broker with Scrapy settings or environment variables (a Scrapy setting wins)::

    STREAMS_BROKER = "kafka://kafka-1:9092,kafka-2:9092"   # or "host:port" / a list of them
    STREAMS_TOPIC_RAW = "articles.raw"

Each item (a dict, a ``scrapy.Item`` or anything itemadapter handles) becomes one message: ``url``
and ``text`` or ``html`` are required, ``title``, ``source`` (default: the URL's host),
``published_at``, ``id`` and ``language`` are optional, other fields pass through. An item the
worker would reject is dropped here with :class:`scrapy.exceptions.DropItem` and the reason, so the
crawler log shows it at once. The item itself is returned unchanged for the pipelines after this one.

Crawler stats: ``streams/sent`` (queued), ``streams/delivered`` (confirmed by the broker),
``streams/failed`` (not delivered), ``streams/invalid`` (dropped, and ``streams/invalid/<code>`` per
rejection code). Scrapy is an optional extra: ``pip install "streams[scrapy]"``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from streams.client import ArticleProducer, DeliveryError, DeliveryReport
from streams.models import Rejection, parse_article
from streams.settings import Settings

log = logging.getLogger(__name__)

PIP_HINT = 'pip install "streams[scrapy]"'

#: Fields of the ``articles.raw`` contract that hold one string.
_SINGLE_FIELDS = ("url", "id", "title", "source", "published_at", "language")
#: Fields whose list values are joined, as ItemLoader and ``.getall()`` produce them: text paragraphs.
_JOINED_FIELDS = {"text": "\n\n", "html": "\n"}


class NotAnArticleError(ValueError):
    """An item that does not meet the ``articles.raw`` contract (``code`` is the rejection code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _drop_item_class() -> type[Exception]:
    try:
        from scrapy.exceptions import DropItem
    except ImportError as exc:  # the extra is not installed
        raise ImportError(f"streams.scrapy_pipeline needs Scrapy: {PIP_HINT}") from exc
    return DropItem


def item_fields(item: Any) -> dict[str, Any]:
    """The fields of a dict, ``scrapy.Item``, dataclass or attrs item as a plain dict."""
    try:
        from itemadapter import ItemAdapter
    except ImportError:  # itemadapter comes with Scrapy; plain mappings still work without it
        if isinstance(item, Mapping):
            return dict(item)
        raise TypeError(f"cannot read a {type(item).__name__} item without itemadapter: {PIP_HINT}") from None
    if not ItemAdapter.is_item(item):
        raise TypeError(f"a {type(item).__name__} is not an item (expected a dict or a scrapy.Item)")
    return dict(ItemAdapter(item).asdict())


def _plain_value(name: str, value: Any) -> Any:
    """One contract field in the form the worker accepts: str, with lists and dates flattened."""
    if isinstance(value, list | tuple):
        strings = [v for v in value if v is not None]
        if name in _JOINED_FIELDS and all(isinstance(v, str | bytes) for v in strings):
            value = _JOINED_FIELDS[name].join(_plain_value(name, v) for v in strings)
        elif len(strings) == 1:  # ItemLoader without TakeFirst wraps single values in a list
            value = strings[0]
        elif not strings:
            return None
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise NotAnArticleError(
                "bad_encoding", f"field '{name}' is bytes that are not UTF-8; pass response.text instead"
            ) from None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def item_to_article(item: Any) -> dict[str, Any]:
    """Convert a scraped item into an ``articles.raw`` article (before validation).

    Contract fields given as lists are flattened (``text`` paragraphs are joined), ``bytes`` are
    decoded as UTF-8, dates become ISO-8601 strings, empty values are left out and ``source``
    defaults to the URL's host name. Other fields pass through as they are.

    Args:
        item: a dict, a ``scrapy.Item`` or any item type itemadapter supports.

    Returns:
        The article as a dict, ready for :func:`streams.client.article_payload`.

    Raises:
        NotAnArticleError: a field cannot be turned into text.
        TypeError: the object is not an item.
    """
    article = item_fields(item)
    for name in (*_SINGLE_FIELDS, *_JOINED_FIELDS):
        if name not in article:
            continue
        value = _plain_value(name, article[name])
        if value is None or (isinstance(value, str) and not value.strip()):
            del article[name]  # an empty title or source is the same as none
        else:
            article[name] = value.strip() if name in _SINGLE_FIELDS and isinstance(value, str) else value
    url = article.get("url")
    if isinstance(url, str) and not article.get("source"):
        host = urlsplit(url).hostname
        if host:
            article["source"] = host
    return article


def encode_item(item: Any, max_bytes: int) -> tuple[bytes, bytes]:
    """The Kafka (key, value) of an item, checked exactly as the worker will check it.

    The value is the article's JSON (as :func:`streams.client.article_payload` writes it); the key is
    the id the worker will give the article (the item's ``id``, else the canonical URL's hash), so
    copies of one page land on one partition.

    Raises:
        NotAnArticleError: with the rejection code the worker would give the message.
    """
    article = item_to_article(item)
    value = json.dumps(article, ensure_ascii=False, default=str).encode("utf-8")
    # The worker's own parser is the contract: whatever it would reject is not worth sending.
    parsed = parse_article(value, max_bytes=max_bytes)
    if isinstance(parsed, Rejection):
        raise NotAnArticleError(parsed.error, f"{parsed.message} (url {article.get('url')!r})")
    return str(parsed.id).encode("utf-8"), value


def bootstrap_servers(broker: str | Sequence[str]) -> list[str]:
    """``host:port`` entries from ``kafka://h1:9092,h2:9092``, ``h1:9092;h2:9092`` or a list."""
    parts = broker.replace(";", ",").split(",") if isinstance(broker, str) else list(broker)
    hosts = [p.strip().split("://", 1)[-1].strip("/") for p in parts]
    return [h for h in hosts if h]


def kafka_security_options(settings: Settings) -> dict[str, Any]:
    """kafka-python options for SASL and/or TLS, from the same settings the workers use."""
    options: dict[str, Any] = {}
    user = settings.broker_credentials_username
    if user:
        password = settings.broker_credentials_password
        options.update(
            security_protocol="SASL_SSL" if settings.broker_ssl else "SASL_PLAINTEXT",
            sasl_mechanism=settings.broker_sasl_mechanism,
            sasl_plain_username=user,
            sasl_plain_password=password.get_secret_value() if password else "",
        )
    elif settings.broker_ssl:
        options["security_protocol"] = "SSL"
    if settings.broker_ssl and settings.broker_ssl_cafile:
        options["ssl_cafile"] = settings.broker_ssl_cafile
    return options


def settings_from_scrapy(scrapy_settings: Any) -> Settings:
    """Streams settings from the ``STREAMS_*`` Scrapy settings, falling back to the environment."""
    overrides: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = scrapy_settings.get(f"STREAMS_{name.upper()}")
        if value is not None:
            overrides[name] = value
    if "broker" in overrides:
        overrides["broker"] = "kafka://" + ",".join(bootstrap_servers(overrides["broker"]))
    return Settings(**overrides)


class StreamsPipeline:
    """Publishes scraped articles to ``articles.raw`` with a batching, delivery-checked producer."""

    def __init__(
        self, settings: Settings, stats: Any = None, kafka_options: Mapping[str, Any] | None = None
    ) -> None:
        """Prepare the pipeline; the producer connects in :meth:`open_spider`.

        Args:
            settings: broker, topic, message size cap and broker security.
            stats: the crawler's stats collector (``None`` counts nothing).
            kafka_options: extra ``KafkaProducer`` options (Scrapy setting ``STREAMS_KAFKA_OPTIONS``).
        """
        self.drop_item = _drop_item_class()
        self.settings = settings
        self.stats = stats
        self.kafka_options = {**kafka_security_options(settings), **(kafka_options or {})}
        self.producer: ArticleProducer | None = None
        self._send_errors = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> StreamsPipeline:
        """Build the pipeline from the crawler's settings and stats (Scrapy calls this)."""
        _drop_item_class()  # fail with the pip line before reading anything
        options = crawler.settings.getdict("STREAMS_KAFKA_OPTIONS")
        return cls(settings_from_scrapy(crawler.settings), crawler.stats, options)

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def _record(self, report: DeliveryReport) -> None:
        if self.stats is not None:
            self.stats.set_value("streams/delivered", report.delivered)
            self.stats.set_value("streams/failed", report.failed + self._send_errors)

    def open_spider(self, spider: Any = None) -> None:
        """Connect the producer."""
        servers = bootstrap_servers(self.settings.broker)
        self._send_errors = 0
        self.producer = ArticleProducer(
            servers, self.settings.topic_raw, max_bytes=self.settings.max_message_bytes, **self.kafka_options
        )
        log.info("publishing articles to %s on %s", self.settings.topic_raw, ",".join(servers))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Queue the item's article; drop the item if it is not a valid article.

        Returns:
            The item, unchanged.

        Raises:
            scrapy.exceptions.DropItem: the item does not meet the ``articles.raw`` contract.
        """
        try:
            key, value = encode_item(item, self.settings.max_message_bytes)
        except (NotAnArticleError, TypeError) as exc:
            code = exc.code if isinstance(exc, NotAnArticleError) else "not_an_object"
            self._inc("streams/invalid")
            self._inc(f"streams/invalid/{code}")
            raise self.drop_item(f"not sent to {self.settings.topic_raw}: {code}: {exc}") from None
        if self.producer is None:
            raise RuntimeError("StreamsPipeline.process_item called before open_spider")
        try:
            self.producer.send_raw(key, value)
        except Exception as exc:  # KafkaError (buffer full, no metadata): keep crawling, count it
            self._send_errors += 1
            log.error("article %s not sent to %s: %s", key.decode(), self.settings.topic_raw, exc)
        else:
            self._inc("streams/sent")
        self._record(self.producer.report)
        return item

    def close_spider(self, spider: Any = None) -> None:
        """Flush and close the producer; undelivered articles are logged and counted, not raised."""
        if self.producer is None:
            return
        producer, self.producer = self.producer, None
        try:
            producer.close()
        except DeliveryError as exc:
            log.error("%s", exc)
        self._record(producer.report)
