"""The decide-and-publish loop (streams.agents.DedupWorker) and its routing, without servers: the index
is a MemoryIndex, the broker a fake producer, the Faust stream a list of batches of fake events."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from streams.agents import DedupWorker, WorkerStopping, encode_decision
from streams.dedup import index_config
from streams.errors import IndexReset, IndexUnavailable
from streams.memory_index import MemoryIndex
from streams.metrics import Metrics
from streams.models import STATUSES, Decision, DuplicateArticle, Rejection, UniqueArticle
from streams.settings import Settings
from streams.telemetry import Event
from tests.conftest import make_settings
from tests.unit.test_hard_cases import EDITED, SAME_EVENT, WIRE


@dataclass
class FakeMessage:
    topic: str
    partition: int
    offset: int
    timestamp: float | None = None
    key: bytes | None = None


@dataclass
class FakeEvent:
    message: FakeMessage
    value: bytes


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes | None
    confirmed: asyncio.Future[None]


@dataclass
class FakeProducer:
    """Faust's producer as the loop uses it; ``hold`` leaves each send unconfirmed until the test says so,
    ``refuse`` makes that many sends raise (a broker that is down)."""

    hold: bool = False
    refuse: int = 0
    sent: list[Sent] = field(default_factory=list)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> asyncio.Future[None]:
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("broker down")
        confirmed = asyncio.get_running_loop().create_future()
        if not self.hold:
            confirmed.set_result(None)
        self.sent.append(Sent(topic, key, value, confirmed))
        return confirmed

    def confirm(self, n: int | None = None) -> None:
        for sent in self.sent[:n]:
            if not sent.confirmed.done():
                sent.confirmed.set_result(None)


class FlakyIndex(MemoryIndex):
    """A MemoryIndex whose next decide calls raise the given errors (Redis down, Redis lost its data);
    with ``down_forever``, every call raises IndexUnavailable."""

    def __init__(self, settings: Settings, failures: Sequence[Exception] = (), down_forever: bool = False):
        super().__init__(index_config(settings))
        self.failures = list(failures)
        self.down_forever = down_forever
        self.calls = 0

    async def decide_and_count(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.down_forever:
            raise IndexUnavailable("Redis unavailable: test")
        if self.failures:
            raise self.failures.pop(0)
        return await super().decide_and_count(*args, **kwargs)


def quick_settings(**overrides: Any) -> Settings:
    return make_settings(None, "redis://unused", redis_backoff_cap_seconds=0.02, **overrides)


def make_worker(
    settings: Settings | None = None, index: MemoryIndex | None = None, producer: FakeProducer | None = None
) -> tuple[DedupWorker, FakeProducer, CollectorRegistry]:
    settings = settings or quick_settings()
    producer = producer or FakeProducer()
    registry = CollectorRegistry()

    async def started_producer() -> FakeProducer:
        return producer

    index = index or MemoryIndex(index_config(settings))
    return DedupWorker(settings, index, Metrics(registry), started_producer), producer, registry


def article(url: str, text: str, **fields: Any) -> bytes:
    return json.dumps({"url": url, "text": text, **fields}).encode()


def events_of(settings: Settings, payloads: Sequence[bytes], first_offset: int = 0) -> list[Event]:
    events = [
        FakeEvent(FakeMessage(settings.topic_raw, 0, first_offset + i, timestamp=None), payload)
        for i, payload in enumerate(payloads)
    ]
    return cast(list[Event], events)


async def batches_of(batches: Sequence[Sequence[Event]]) -> AsyncIterator[Sequence[Event]]:
    for batch in batches:
        yield batch


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Let the loop run until ``condition`` holds (a bound on the wait, not a speed check)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def run_batches(worker: DedupWorker, batches: Sequence[Sequence[Event]]) -> list[Event]:
    """Run the worker's loop over ``batches``; returns the events acked, in order."""
    acked: list[Event] = []

    async def ack(event: Event) -> bool:
        acked.append(event)
        return True

    async def go() -> None:
        try:
            await worker.run(batches_of(batches), ack)
        finally:
            worker.engine.close()

    asyncio.run(go())
    return acked


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def decide_and_publish(worker: DedupWorker, events: Sequence[Any]) -> list[Decision]:
    """One batch through the loop's steps (prepare, decide, publish), the extraction process closed after."""
    try:
        decisions = await worker.decide_prepared(await worker.prepare_events(events))
        await worker.publish(events, decisions)
        return decisions
    finally:
        worker.engine.close()


def test_the_routing_table_names_one_topic_per_status() -> None:
    """Every decision status has its output topic, and those are the deployment's output topics."""
    settings = quick_settings()
    table = settings.output_topic_by_status
    assert tuple(table) == STATUSES == ("unique", "duplicate", "rejected")
    assert table == {
        "unique": settings.topic_unique,
        "duplicate": settings.topic_duplicates,
        "rejected": settings.topic_rejected,
    }
    assert settings.output_topics == tuple(table.values())


def test_each_decision_goes_to_the_topic_of_its_status_keyed_by_id() -> None:
    """Unique, duplicate and rejected decisions land on their topics, in input order, one send each, keyed by
    the article id (a rejection without one by its message key, else its position), body as published."""
    settings = quick_settings()
    worker, producer, _ = make_worker(settings)
    payloads = [
        article("https://a.example/1", WIRE, id="wire"),
        article("https://b.example/2", WIRE + "\n\nShare this story.", id="copy"),
        b"{not json",
        article("https://d.example/4", SAME_EVENT, id="other"),
        b"[]",
    ]
    events = events_of(settings, payloads)
    cast(FakeEvent, events[4]).message.key = b"crawler-key"

    decisions = asyncio.run(decide_and_publish(worker, events))
    assert [d.status for d in decisions] == ["unique", "duplicate", "rejected", "unique", "rejected"]
    topics = {
        "unique": settings.topic_unique,
        "duplicate": settings.topic_duplicates,
        "rejected": settings.topic_rejected,
    }
    assert [s.topic for s in producer.sent] == [topics[d.status] for d in decisions]
    assert [s.key for s in producer.sent] == [
        b"wire",
        b"copy",
        f"{settings.topic_raw}:0:2".encode(),
        b"other",
        b"crawler-key",
    ]
    bodies = [json.loads(s.value or b"") for s in producer.sent]
    assert [body["id"] for body in bodies[:2]] == ["wire", "copy"]
    assert bodies[1]["duplicate_of"] == "wire" and bodies[2]["error"] == "invalid_json"


def test_the_published_body_is_the_decision_encoded() -> None:
    """What the broker gets is exactly :func:`encode_decision` of the decision the index made."""
    settings = quick_settings()
    worker, producer, _ = make_worker(settings)
    events = events_of(settings, [article("https://a.example/1", WIRE, id="a"), b"{"])

    decisions = asyncio.run(decide_and_publish(worker, events))
    assert [s.value for s in producer.sent] == [encode_decision(d) for d in decisions]


def test_every_event_is_acked_once_after_its_decision_in_stream_order() -> None:
    """Copies spread over pipelined batches are judged against the batches before them; every event is
    published once and acked once, in stream order."""
    settings = quick_settings()
    worker, producer, registry = make_worker(settings)
    payloads = [
        article("https://a.example/1", WIRE, id="wire"),
        article("https://b.example/2", EDITED, id="edited"),  # near copy, next batch
        article("https://c.example/3", SAME_EVENT, id="other"),
        article("https://a.example/1?utm_source=x", WIRE, id="again"),  # same page, two batches later
        b"not json",
    ]
    events = events_of(settings, payloads)
    acked = run_batches(worker, [events[0:1], events[1:3], events[3:5]])
    assert acked == events
    statuses = [json.loads(s.value or b"").get("duplicate_of") for s in producer.sent]
    assert statuses == [None, "wire", None, "wire", None]
    assert [s.topic for s in producer.sent] == [
        settings.topic_unique,
        settings.topic_duplicates,
        settings.topic_unique,
        settings.topic_duplicates,
        settings.topic_rejected,
    ]
    assert sample(registry, "streams_articles_received_total") == 5
    assert sample(registry, "streams_batch_articles_count") == 3


def test_an_event_is_acked_only_once_the_broker_confirmed_its_batch() -> None:
    """Sent is not published: until the broker confirms every decision of the batch, nothing is acked."""
    settings = quick_settings()
    producer = FakeProducer(hold=True)
    worker, _, _ = make_worker(settings, producer=producer)
    events = events_of(settings, [article("https://a.example/1", WIRE, id="a"), b"{"])
    acked: list[Event] = []

    async def ack(event: Event) -> bool:
        acked.append(event)
        return True

    async def go() -> None:
        try:
            running = asyncio.ensure_future(worker.run(batches_of([events]), ack))
            await wait_for(lambda: len(producer.sent) == 2, "both decisions sent")
            producer.confirm(1)
            await asyncio.sleep(0.05)
            assert acked == []
            producer.confirm()
            await running
        finally:
            worker.engine.close()

    asyncio.run(go())
    assert acked == events


def test_at_most_two_batches_are_in_flight() -> None:
    """While the oldest batch waits for the broker, a third batch is prepared but not decided nor sent."""
    settings = quick_settings()
    producer = FakeProducer(hold=True)
    worker, _, registry = make_worker(settings, producer=producer)
    texts = [WIRE, SAME_EVENT, EDITED.replace("Harbour City", "Port Ellery")]
    events = events_of(settings, [article(f"https://x.example/{i}", t) for i, t in enumerate(texts)])

    async def ack(event: Event) -> bool:
        return True

    async def go() -> None:
        try:
            running = asyncio.ensure_future(worker.run(batches_of([[e] for e in events]), ack))
            await wait_for(lambda: sample(registry, "streams_articles_received_total") == 3, "all taken")
            await wait_for(lambda: len(producer.sent) == 2, "two batches sent")
            await asyncio.sleep(0.05)
            assert len(producer.sent) == 2 and len(worker.in_flight) == 2
            producer.confirm()
            await wait_for(lambda: len(producer.sent) == 3, "the third batch sent")
            producer.confirm()
            await running
        finally:
            worker.engine.close()

    asyncio.run(go())


def test_a_broker_that_refuses_a_send_gets_the_batch_again() -> None:
    """A failed send retries the whole batch (never drops, never acks before success), counted once."""
    settings = quick_settings()
    worker, producer, registry = make_worker(settings, producer=FakeProducer(refuse=1))
    events = events_of(settings, [article("https://a.example/1", WIRE, id="a"), b"{"])
    acked = run_batches(worker, [events])
    assert acked == events
    assert [s.topic for s in producer.sent] == [settings.topic_unique, settings.topic_rejected]
    assert sample(registry, "streams_publish_errors_total") == 1


def test_redis_down_holds_the_batch_then_decides_it_as_if_nothing_happened() -> None:
    """While the index is unavailable the batch waits (counted as retries), never decided by a guess."""
    settings = quick_settings()
    index = FlakyIndex(settings, [IndexUnavailable("down"), IndexUnavailable("still down")])
    worker, producer, registry = make_worker(settings, index=index)
    events = events_of(
        settings, [article("https://a.example/1", WIRE, id="a"), article("https://b.example/2", WIRE)]
    )
    acked = run_batches(worker, [events])
    assert acked == events and index.calls == 3
    assert [s.topic for s in producer.sent] == [settings.topic_unique, settings.topic_duplicates]
    assert sample(registry, "streams_redis_retries_total") == 2
    assert sample(registry, "streams_redis_errors_total", kind="unavailable") == 2
    assert sample(registry, "streams_redis_up") == 1


def test_an_index_reset_is_counted_and_the_batch_decided_on_the_new_index() -> None:
    """Redis came back without the index: said and counted, and the batch goes on rather than stall."""
    settings = quick_settings()
    index = FlakyIndex(settings, [IndexReset("the epoch changed")])
    worker, producer, registry = make_worker(settings, index=index)
    events = events_of(settings, [article("https://a.example/1", WIRE, id="a")])
    acked = run_batches(worker, [events])
    assert acked == events and [s.topic for s in producer.sent] == [settings.topic_unique]
    assert sample(registry, "streams_index_resets_total") == 1


def test_stopping_abandons_a_batch_waiting_for_redis_unpublished_and_unacked() -> None:
    """A stop does not wait for Redis: the batch is neither published nor acked (so it is redelivered)."""
    settings = quick_settings()
    index = FlakyIndex(settings, down_forever=True)
    worker, producer, registry = make_worker(settings, index=index)
    events = events_of(settings, [article("https://a.example/1", WIRE, id="a")])
    acked: list[Event] = []

    async def ack(event: Event) -> bool:
        acked.append(event)
        return True

    async def batches() -> AsyncIterator[Sequence[Event]]:
        yield events
        await wait_for(lambda: index.calls >= 2, "the batch waits for Redis")
        # begin_stop would also start the budget's exit timer: only its signal to the loop here.
        worker.stopping.set()
        yield events_of(settings, [article("https://b.example/2", SAME_EVENT)], first_offset=1)

    async def go() -> list[asyncio.Future[None]]:
        try:
            await worker.run(batches(), ack)
            return list(worker.in_flight)
        finally:
            worker.engine.close()

    assert asyncio.run(go()) == []
    assert producer.sent == [] and acked == []
    # The batch taken while stopping was not even prepared.
    assert sample(registry, "streams_articles_received_total") == 1


def test_a_batch_waiting_for_redis_raises_worker_stopping_at_once() -> None:
    """The loop's retry pause ends as soon as the worker stops: the batch is abandoned, not sent."""
    settings = quick_settings()
    worker, producer, _ = make_worker(settings, index=FlakyIndex(settings, down_forever=True))
    events = events_of(settings, [article("https://a.example/1", WIRE, id="a")])

    async def go() -> None:
        try:
            prepared = await worker.prepare_events(events)
            finishing = asyncio.ensure_future(worker.finish(events, prepared))
            await asyncio.sleep(0.05)
            worker.stopping.set()
            with pytest.raises(WorkerStopping):
                await finishing
        finally:
            worker.engine.close()

    asyncio.run(go())
    assert producer.sent == []


def test_the_telemetry_counts_what_the_loop_published() -> None:
    """The loop hands each published batch to its telemetry: decisions by outcome and match."""
    settings = quick_settings()
    worker, _, registry = make_worker(settings)
    events = events_of(
        settings,
        [
            article("https://a.example/1", WIRE, id="a", source="Wire"),
            article("https://b.example/2", EDITED, id="b", source="Wire"),
            b"{",
        ],
    )
    run_batches(worker, [events])
    decided = "streams_decisions_total"
    assert sample(registry, decided, outcome="unique", match="none", source="wire") == 1
    assert sample(registry, decided, outcome="duplicate", match="near", source="wire") == 1
    assert sample(registry, decided, outcome="rejected", match="none", source="unknown") == 1
    assert worker.telemetry.positions == {(settings.topic_raw, 0): 3}
    assert [d["id"] for d in worker.telemetry.recent_duplicates] == ["b"]


def test_the_routing_table_is_keyed_by_the_statuses_the_decisions_carry() -> None:
    """Each kind of decision carries its own status, and the routing table has a topic for each."""
    carried = [
        next(f.default for f in dataclasses.fields(kind) if f.name == "status")
        for kind in (UniqueArticle, DuplicateArticle, Rejection)
    ]
    assert sorted(carried) == sorted(STATUSES) == sorted(quick_settings().output_topic_by_status)
