"""Prometheus metrics of the dedup worker (Faust's own stream metrics come from its Prometheus sensor).

Names follow Prometheus conventions (``streams_*_total`` counters, ``_seconds`` in base units,
explicit buckets). Label values are bounded: outcomes, match kinds and rejection codes are fixed
sets, and sources go through :class:`SourceLabels`, which labels the N most frequent sources of late
and counts the rest as ``other``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from streams.models import REJECTION_CODES, STATUSES

STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
E2E_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
SIMILARITY_BUCKETS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class Metrics:
    """The project's metrics, registered once per registry."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.articles_in = Counter(
            "streams_articles_received_total", "Messages read from the raw topic.", registry=registry
        )
        self.decisions = Counter(
            "streams_decisions_total",
            "Decisions published, by outcome (unique, duplicate, rejected), match kind and source.",
            ["outcome", "match", "source"],
            registry=registry,
        )
        self.rejections = Counter(
            "streams_rejections_total", "Rejected inputs by error code.", ["code"], registry=registry
        )
        self.replays = Counter(
            "streams_replayed_decisions_total",
            "Articles already in the index that got their first decision again (redelivery).",
            registry=registry,
        )
        self.similarity = Histogram(
            "streams_near_duplicate_similarity",
            "Similarity of near-duplicate decisions (estimated Jaccard or containment).",
            ["measure"],
            buckets=SIMILARITY_BUCKETS,
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "streams_stage_seconds",
            "Time per article in each stage (parse, clean_text, clean_html, fingerprint, index, publish).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=registry,
        )
        self.end_to_end_seconds = Histogram(
            "streams_end_to_end_seconds",
            "From the message's produce timestamp to its decision being published.",
            buckets=E2E_BUCKETS,
            registry=registry,
        )
        self.index_articles = Gauge(
            "streams_index_articles", "Articles numbered in the current index namespace.", registry=registry
        )
        self.index_band_evictions = Gauge(
            "streams_index_band_evictions",
            "Band entries overwritten while their article was still in the window (the index is past its"
            " capacity), in the current index namespace.",
            registry=registry,
        )
        self.offloaded = Counter(
            "streams_offloaded_articles_total",
            "Articles prepared in the worker's offload process (a share of large batches of short inputs).",
            registry=registry,
        )
        self.chrome_stripped = Counter(
            "streams_chrome_stripped_articles_total",
            "Articles fingerprinted without some of their text: blocks known as their site's chrome.",
            registry=registry,
        )
        self.chrome_hosts = Gauge(
            "streams_chrome_hosts",
            "Hosts whose site chrome this worker knows (its cache; Redis holds at most"
            " STREAMS_CHROME_MAX_BLOCKS blocks, about 5 KB, per host seen within STREAMS_CHROME_TTL_DAYS).",
            registry=registry,
        )
        self.chrome_blocks = Gauge(
            "streams_chrome_blocks",
            "Text blocks this worker knows as site chrome, all hosts.",
            registry=registry,
        )
        self.redis_memory_bytes = Gauge(
            "streams_redis_used_memory_bytes", "Redis used_memory as reported by INFO.", registry=registry
        )
        self.redis_up = Gauge("streams_redis_up", "1 if the last Redis call succeeded.", registry=registry)
        self.redis_errors = Counter(
            "streams_redis_errors_total",
            "Redis calls that failed after the client's own retries, by kind.",
            ["kind"],
            registry=registry,
        )
        self.redis_retries = Counter(
            "streams_redis_retries_total", "Batches retried because Redis was unavailable.", registry=registry
        )
        self.publish_errors = Counter(
            "streams_publish_errors_total", "Batches whose decisions had to be sent again.", registry=registry
        )
        self.index_resets = Counter(
            "streams_index_resets_total",
            "Times the index epoch changed under a running worker: Redis lost its data.",
            registry=registry,
        )
        self.index_swept = Counter(
            "streams_index_swept_entries_total",
            "Index entries removed by the sweep because their articles left the retention window.",
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "streams_consumer_lag_messages",
            "Messages behind the partition's high watermark, per assigned partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "streams_batch_articles",
            "Articles decided per batch.",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
            registry=registry,
        )
        # Series with a fixed label set exist from the start at 0, so rate() and the alerts on them
        # have data before the first error rather than only after it.
        for code in REJECTION_CODES:
            self.rejections.labels(code=code)
        self.redis_errors.labels(kind="unavailable")

    def forget_source(self, source: str) -> None:
        """Remove the decision series of a source that lost its label (see :class:`SourceLabels`)."""
        for outcome in STATUSES:
            for match in ("none", "url", "exact", "near"):
                with contextlib.suppress(KeyError):
                    self.decisions.remove(outcome, match, source)


class SourceLabels:
    """Bounded label values for article sources: the ``limit`` most frequent of late, then ``other``.

    Until ``limit`` sources are labelled, a new source gets its label at once. Every ``refresh_every``
    calls the counts are halved (sources seen less than once of late are forgotten, so the table holds
    at most ``refresh_every`` of them) and the labelled set becomes the current top ``limit``: a source
    that grew past the early ones takes the place of one that faded, and ``on_drop`` is called with the
    dropped label, so its series can be removed (the series stay bounded by ``limit``).
    """

    def __init__(
        self, limit: int, refresh_every: int = 10_000, on_drop: Callable[[str], None] | None = None
    ) -> None:
        self.limit = limit
        self.refresh_every = refresh_every
        self.on_drop = on_drop
        self._labelled: set[str] = set()
        self._counts: dict[str, float] = {}
        self._calls = 0

    def __call__(self, source: str | None) -> str:
        if not source:
            return "unknown"
        value = source.strip().lower()[:64]
        self._counts[value] = self._counts.get(value, 0.0) + 1.0
        self._calls += 1
        if self._calls >= self.refresh_every:
            self._refresh()
        if value in self._labelled:
            return value
        if len(self._labelled) < self.limit:
            self._labelled.add(value)
            return value
        return "other"

    def _refresh(self) -> None:
        self._calls = 0
        self._counts = {k: v / 2 for k, v in self._counts.items() if v >= 2}
        ranked = sorted(self._counts.items(), key=lambda kv: (-kv[1], kv[0]))
        top = {k for k, _ in ranked[: self.limit]}
        dropped, self._labelled = self._labelled - top, top
        if self.on_drop is not None:
            for label in sorted(dropped):
                self.on_drop(label)
