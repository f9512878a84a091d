"""What a worker reports about itself, beside the decisions it publishes.

:class:`WorkerTelemetry` counts each published batch (decisions by outcome, match and source, rejections
by code, similarity, end-to-end latency), keeps the latest duplicates for the status page, and on the
app's timers (:func:`streams.agents.register`) refreshes the consumer lag and the index and Redis gauges
and sweeps the index. The decide-and-publish loop (:class:`streams.agents.DedupWorker`) tells it what it
published; nothing here decides, publishes or holds a batch back, and a failure here never stops the
worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import faust

from streams.chrome import ChromeCache
from streams.errors import IndexUnavailable
from streams.index import Index, RedisIndex, sweep_shards_per_call
from streams.metrics import Metrics, SourceLabels
from streams.models import Decision, DuplicateArticle, Rejection
from streams.settings import Settings

log = logging.getLogger("streams.worker")

Event = faust.EventT[bytes]
SWEEP_INTERVAL_SECONDS = 5.0
#: Duplicates kept for the status page (it shows the latest of them).
RECENT_DUPLICATES_KEPT = 50


class WorkerTelemetry:
    """The worker's metrics beyond its own retries and stage timings, and the status page's duplicates."""

    def __init__(self, settings: Settings, index: Index, metrics: Metrics, chrome: ChromeCache) -> None:
        self.settings = settings
        self.index = index
        self.metrics = metrics
        self.chrome = chrome
        self.sources = SourceLabels(settings.source_label_limit, on_drop=metrics.forget_source)
        self.recent_duplicates: list[dict[str, Any]] = []  # oldest first
        # Next offset to decide per raw partition, for the consumer-lag gauge; and the lag series set.
        self.positions: dict[tuple[str, int], int] = {}
        self._lag_series: set[tuple[str, str]] = set()
        self._sweep_shards = sweep_shards_per_call(index.config, SWEEP_INTERVAL_SECONDS)

    def published(self, events: Sequence[Event], decisions: Sequence[Decision]) -> None:
        """Count a batch whose decisions (one per event, in order) the broker has confirmed."""
        for event in events:
            self.positions[(event.message.topic, event.message.partition)] = event.message.offset + 1
        for event, decision in zip(events, decisions, strict=True):
            source = None if isinstance(decision, Rejection) else decision.source
            timestamp = event.message.timestamp
            self.count(decision, source, timestamp if timestamp and timestamp > 1e9 else None)

    def count(self, decision: Decision, source: str | None, produced_at: float | None) -> None:
        """Count one published decision; ``produced_at`` (Unix time) gives its end-to-end latency."""
        label = self.sources(source)
        match_label = "none"
        if isinstance(decision, DuplicateArticle):
            match_label = decision.match
            if decision.match == "near":
                self.metrics.similarity.labels(measure=decision.measure).observe(decision.similarity)
            self.recent_duplicates.append(decision.to_dict())
            del self.recent_duplicates[:-RECENT_DUPLICATES_KEPT]
        elif isinstance(decision, Rejection):
            self.metrics.rejections.labels(code=decision.error).inc()
        self.metrics.decisions.labels(outcome=decision.status, match=match_label, source=label).inc()
        if produced_at:
            self.metrics.end_to_end_seconds.observe(max(0.0, time.time() - produced_at))

    async def refresh_lag(self, consumer: Any) -> None:
        """Messages not decided yet per assigned raw partition: end offset minus the next offset to decide.

        The end offset is the larger of the broker's answer to ListOffsets (current even while the fetcher
        is paused) and the high watermark of the last fetch (tansu answers ListOffsets with the base offset
        of the partition's last record batch, measured; Kafka's answer is never below the fetch's). The
        next offset to decide is the one after the last article this worker decided; on a partition it
        has not decided anything on yet, the group's committed offset (Faust's own record, set at
        assignment and on every commit), or the partition's first offset when the group never committed
        (the consumer starts there). Not the fetch position: fetched is not decided.
        Partitions this worker no longer owns lose their series: their new owner reports them.
        """
        assigned = [tp for tp in consumer.assignment() if tp.topic == self.settings.topic_raw]
        owned = {(tp.topic, tp.partition) for tp in assigned}
        for key in [key for key in self.positions if key not in owned]:
            del self.positions[key]
        ends = await consumer.highwaters(*assigned) if assigned else {}
        committed = getattr(consumer, "_committed_offset", {})
        done = {tp: self.positions.get((tp.topic, tp.partition), committed.get(tp)) for tp in assigned}
        never_committed = [tp for tp, offset in done.items() if offset is None]
        if never_committed:
            done.update(await consumer.earliest_offsets(*never_committed))
        series: set[tuple[str, str]] = set()
        for tp in assigned:
            end = max((x for x in (ends.get(tp), consumer.highwater(tp)) if x is not None), default=None)
            if end is None or done.get(tp) is None:
                continue
            labels = (tp.topic, str(tp.partition))
            self.metrics.consumer_lag.labels(*labels).set(max(0, end - done[tp]))
            series.add(labels)
        for labels in self._lag_series - series:
            self.metrics.consumer_lag.remove(*labels)
        self._lag_series = series

    def forget_partitions(self, partitions: Any) -> None:
        """Drop the decided positions of revoked partitions: another worker may move them on."""
        for tp in partitions:
            self.positions.pop((tp.topic, tp.partition), None)

    async def sweep_index(self) -> None:
        """Reclaim the memory of index entries that have left the retention window, one slice a call.

        Call it only once the index is open (:attr:`streams.agents.DedupWorker.index_open`).
        """
        try:
            result = await self.index.sweep(self._sweep_shards)
        except IndexUnavailable as exc:  # an outage: the batches report it; the next call goes on
            log.debug("index sweep skipped: %s", exc)
            return
        except Exception as exc:  # never takes the worker down: lookups skip stale entries anyway
            self.metrics.redis_errors.labels(kind="sweep").inc()
            log.warning("index sweep failed", extra={"error": repr(exc)[:300]})
            return
        self.metrics.index_swept.inc(result.entries_removed)
        if result.pass_completed:
            log.debug("index sweep pass completed", extra={"record_blocks": result.record_blocks_deleted})

    async def refresh_gauges(self) -> None:
        """Index size, known site chrome and Redis memory, for the dashboards."""
        self.metrics.chrome_hosts.set(self.chrome.hosts())
        self.metrics.chrome_blocks.set(self.chrome.blocks())
        try:
            self.metrics.index_articles.set(await self.index.size())
            self.metrics.index_band_evictions.set(await self.index.band_evictions())
            if isinstance(self.index, RedisIndex):  # an index in this process has no server to ask
                info = await self.index.client.info("memory")
                self.metrics.redis_memory_bytes.set(info.get("used_memory", 0))
            self.metrics.redis_up.set(1)
        except Exception as exc:  # a gauge refresh must never take the worker down
            self.metrics.redis_up.set(0)
            log.debug("gauge refresh failed: %s", exc)
