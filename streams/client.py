"""The crawler side: a kafka-python producer that speaks the ``articles.raw`` contract.

Example::

    from streams.client import ArticleProducer

    with ArticleProducer(["kafka:9092"]) as producer:
        producer.send({"url": "https://example.com/a", "title": "...", "text": "..."})
    # leaving the block flushes and raises if any article was not delivered

Articles are checked before they leave (a URL and some text or HTML, a size cap), keyed by their id
(or the canonical URL's hash) so copies of one page land on one partition, batched by kafka-python
(``linger_ms``), and every send is confirmed: :meth:`ArticleProducer.flush` returns the delivery
counts and :meth:`close` raises :class:`DeliveryError` if any article failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kafka import KafkaProducer

from streams.errors import StreamsError
from streams.fingerprint import article_id_for

log = logging.getLogger(__name__)


class InvalidArticle(StreamsError, ValueError):
    """An article that does not meet the ``articles.raw`` contract; it was not sent."""


class DeliveryError(StreamsError):
    """The broker did not confirm some articles."""


@dataclass
class DeliveryReport:
    """Counts of confirmed and failed sends so far."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0


def article_payload(article: Mapping[str, Any], max_bytes: int = 2_000_000) -> tuple[bytes, bytes]:
    """The (key, value) of an article as the worker expects it; raises :class:`InvalidArticle`."""
    if not isinstance(article, Mapping):  # a JSON line that is a list, a string, a number
        raise InvalidArticle(f"an article is a JSON object, not {type(article).__name__}")
    url = article.get("url")
    if not isinstance(url, str) or not url.strip():
        raise InvalidArticle("an article needs a 'url'")
    if not (article.get("text") or article.get("html")):
        raise InvalidArticle(f"article {url} has neither 'text' nor 'html'")
    value = json.dumps(dict(article), ensure_ascii=False, default=str).encode("utf-8")
    if len(value) > max_bytes:
        raise InvalidArticle(f"article {url} is {len(value)} bytes, over the {max_bytes} byte cap")
    key = str(article.get("id") or article_id_for(url)).encode("utf-8")
    return key, value


class ArticleProducer:
    """A batching, delivery-checked producer of raw articles (thread-safe, like KafkaProducer)."""

    def __init__(
        self,
        bootstrap_servers: list[str],
        topic: str = "articles.raw",
        *,
        max_bytes: int = 2_000_000,
        linger_ms: int = 20,
        **kafka_options: Any,
    ) -> None:
        self.topic = topic
        self.max_bytes = max_bytes
        self.report = DeliveryReport()
        self._lock = threading.Lock()
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            linger_ms=linger_ms,
            retries=5,
            max_request_size=max(max_bytes + 1024, 1_048_576),
            **kafka_options,
        )

    def _delivered(self, _: Any) -> None:
        with self._lock:
            self.report.delivered += 1

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.report.failed += 1
        log.error("article not delivered: %s", exc)

    def send(self, article: Mapping[str, Any], timestamp_ms: int | None = None) -> None:
        """Queue one article; raises :class:`InvalidArticle` before sending a bad one."""
        key, value = article_payload(article, self.max_bytes)
        self.send_raw(key, value, timestamp_ms)

    def send_raw(self, key: bytes | None, value: bytes, timestamp_ms: int | None = None) -> None:
        """Queue bytes as they are (for replaying captured traffic and for tests of bad input)."""
        future = self._producer.send(self.topic, key=key, value=value, timestamp_ms=timestamp_ms)
        future.add_callback(self._delivered)
        future.add_errback(self._failed)
        with self._lock:
            self.report.sent += 1

    def send_many(self, articles: Iterable[Mapping[str, Any]]) -> int:
        """Queue many articles; returns how many were queued."""
        count = 0
        for article in articles:
            self.send(article)
            count += 1
        return count

    def flush(self, timeout: float | None = 60) -> DeliveryReport:
        """Wait for every queued article to be confirmed or to fail."""
        self._producer.flush(timeout=timeout)
        return self.report

    def close(self, timeout: float = 30) -> DeliveryReport:
        """Flush and close; raises :class:`DeliveryError` if any article was not delivered."""
        try:
            report = self.flush(timeout)
        finally:
            self._producer.close(timeout=timeout)
        if report.failed or report.delivered < report.sent:
            raise DeliveryError(
                f"{report.failed} failed and {report.sent - report.delivered - report.failed} unconfirmed "
                f"of {report.sent} articles sent to {self.topic}"
            )
        return report

    def __enter__(self) -> ArticleProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
            return
        # Leaving on an error or a Ctrl-C: do not wait up to a minute for deliveries, and let that
        # exception through rather than a DeliveryError.
        with contextlib.suppress(Exception):
            self._producer.close(timeout=1)
