"""The worker's telemetry (streams.telemetry.WorkerTelemetry) and the status page's data, without servers:
a MemoryIndex, a fresh metrics registry and a fake Faust consumer."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple, cast

from prometheus_client import CollectorRegistry

from streams import web
from streams.chrome import ChromeCache
from streams.dedup import index_config
from streams.memory_index import MemoryIndex
from streams.metrics import Metrics
from streams.models import Decision, DuplicateArticle, MatchKind, Rejection, UniqueArticle
from streams.settings import Settings
from streams.telemetry import RECENT_DUPLICATES_KEPT, Event, WorkerTelemetry
from tests.conftest import make_settings
from tests.unit.test_worker import FakeEvent, FakeMessage


class TP(NamedTuple):
    topic: str
    partition: int


class FakeConsumer:
    """What the lag refresh reads of Faust's consumer: assignment, end offsets, committed offsets."""

    def __init__(
        self,
        assigned: list[TP],
        ends: dict[TP, int],
        committed: dict[TP, int] | None = None,
        earliest: dict[TP, int] | None = None,
        fetched: dict[TP, int] | None = None,
    ) -> None:
        self.assigned = assigned
        self.ends = ends
        self._committed_offset = committed or {}
        self.earliest = earliest or {}
        self.fetched = fetched or {}

    def assignment(self) -> set[TP]:
        return set(self.assigned)

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.ends[tp] for tp in tps if tp in self.ends}

    def highwater(self, tp: TP) -> int | None:
        return self.fetched.get(tp)

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.earliest.get(tp, 0) for tp in tps}


class BrokenIndex(MemoryIndex):
    async def sweep(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("NOSCRIPT")

    async def size(self) -> int:
        raise ConnectionError("gone")


def make_telemetry(broken: bool = False) -> tuple[WorkerTelemetry, Settings, CollectorRegistry]:
    """Telemetry on a fresh registry and index; ``broken``: an index whose every call fails."""
    settings = make_settings(None, "redis://unused")
    registry = CollectorRegistry()
    index = (BrokenIndex if broken else MemoryIndex)(index_config(settings))
    return WorkerTelemetry(settings, index, Metrics(registry), ChromeCache(10, 3)), settings, registry


def unique(article_id: str, source: str | None = "Wire") -> UniqueArticle:
    return UniqueArticle(article_id, f"https://a.example/{article_id}", "", "", "", source, None, None, 1, {})


def duplicate(article_id: str, match: MatchKind = "near") -> DuplicateArticle:
    return DuplicateArticle(
        id=article_id,
        url="https://b.example/",
        duplicate_of="a",
        duplicate_of_url="https://a.example/a",
        match=match,
        similarity=0.9,
        measure="jaccard",
        threshold=0.8,
        source=None,
    )


def published_at(
    topic: str, partition: int, offsets: list[int], timestamp: float | None = None
) -> list[Event]:
    return cast(
        list[Event], [FakeEvent(FakeMessage(topic, partition, o, timestamp=timestamp), b"") for o in offsets]
    )


def gauge(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_decisions_are_counted_by_status_match_and_source() -> None:
    """The outcome label is the decision's status; a rejection is also counted by its code."""
    telemetry, settings, registry = make_telemetry()
    decisions: list[Decision] = [
        unique("a"),
        duplicate("b", match="near"),
        Rejection("invalid_json", "bad", b"{"),
    ]
    telemetry.published(published_at(settings.topic_raw, 0, [0, 1, 2], timestamp=1.7e9), decisions)
    counted = "streams_decisions_total"
    assert gauge(registry, counted, outcome="unique", match="none", source="wire") == 1
    assert gauge(registry, counted, outcome="duplicate", match="near", source="unknown") == 1
    assert gauge(registry, counted, outcome="rejected", match="none", source="unknown") == 1
    assert gauge(registry, "streams_rejections_total", code="invalid_json") == 1
    assert gauge(registry, "streams_near_duplicate_similarity_count", measure="jaccard") == 1
    assert gauge(registry, "streams_end_to_end_seconds_count") == 3


def test_a_message_without_a_producer_time_has_no_end_to_end_latency() -> None:
    telemetry, settings, registry = make_telemetry()
    telemetry.published(published_at(settings.topic_raw, 0, [0], timestamp=None), [unique("a")])
    assert gauge(registry, "streams_end_to_end_seconds_count") == 0


def test_the_status_page_keeps_the_latest_duplicates_newest_first() -> None:
    telemetry, settings, _ = make_telemetry()
    n = RECENT_DUPLICATES_KEPT + 5
    telemetry.published(
        published_at(settings.topic_raw, 0, list(range(n))), [duplicate(f"d{i}") for i in range(n)]
    )
    assert len(telemetry.recent_duplicates) == RECENT_DUPLICATES_KEPT
    snapshot = web.status_snapshot(telemetry)
    assert [d["id"] for d in snapshot["recent_duplicates"]] == [
        f"d{i}" for i in range(n - 1, n - 1 - web.RECENT_DUPLICATES, -1)
    ]
    assert snapshot["decisions"] == {"unique": 0, "duplicate": n, "rejected": 0}
    assert snapshot["index"]["prefix"] == telemetry.index.config.prefix


def test_lag_is_measured_from_the_next_offset_to_decide() -> None:
    """Decided partitions count from the last decision; others from the committed offset, or the first
    offset when the group never committed; the larger of the two end offsets counts; other topics not."""
    telemetry, settings, registry = make_telemetry()
    raw = settings.topic_raw
    decided, committed, fresh, other = TP(raw, 0), TP(raw, 1), TP(raw, 2), TP("elsewhere", 0)
    telemetry.published(published_at(raw, 0, [10, 11]), [unique("a"), unique("b")])
    consumer = FakeConsumer(
        [decided, committed, fresh, other],
        ends={decided: 20, committed: 30, fresh: 7, other: 99},
        committed={committed: 25},
        earliest={fresh: 3},
        fetched={decided: 22},
    )
    asyncio.run(telemetry.refresh_lag(consumer))
    lag = "streams_consumer_lag_messages"
    assert gauge(registry, lag, topic=raw, partition="0") == 22 - 12
    assert gauge(registry, lag, topic=raw, partition="1") == 30 - 25
    assert gauge(registry, lag, topic=raw, partition="2") == 7 - 3
    assert gauge(registry, lag, topic="elsewhere", partition="0") is None


def test_a_partition_no_longer_assigned_loses_its_lag_series_and_position() -> None:
    telemetry, settings, registry = make_telemetry()
    raw = settings.topic_raw
    kept, moved = TP(raw, 0), TP(raw, 1)
    telemetry.published(published_at(raw, 1, [4]), [unique("a")])
    asyncio.run(telemetry.refresh_lag(FakeConsumer([kept, moved], ends={kept: 5, moved: 9})))
    assert gauge(registry, "streams_consumer_lag_messages", topic=raw, partition="1") == 4
    asyncio.run(telemetry.refresh_lag(FakeConsumer([kept], ends={kept: 5})))
    assert gauge(registry, "streams_consumer_lag_messages", topic=raw, partition="1") is None
    assert telemetry.positions == {}


def test_revoked_partitions_forget_their_decided_position() -> None:
    telemetry, settings, _ = make_telemetry()
    telemetry.published(published_at(settings.topic_raw, 3, [7]), [unique("a")])
    telemetry.forget_partitions([TP(settings.topic_raw, 3)])
    assert telemetry.positions == {}


def test_gauges_report_the_index_and_a_failure_says_redis_is_down() -> None:
    telemetry, _, registry = make_telemetry()
    asyncio.run(telemetry.refresh_gauges())
    assert gauge(registry, "streams_index_articles") == 0
    assert gauge(registry, "streams_redis_up") == 1
    broken, _, broken_registry = make_telemetry(broken=True)
    asyncio.run(broken.refresh_gauges())
    assert gauge(broken_registry, "streams_redis_up") == 0


def test_a_failed_sweep_is_counted_and_never_raised() -> None:
    telemetry, _, registry = make_telemetry(broken=True)
    asyncio.run(telemetry.sweep_index())
    assert gauge(registry, "streams_redis_errors_total", kind="sweep") == 1
