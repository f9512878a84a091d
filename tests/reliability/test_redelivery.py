"""Redelivery: the whole input topic replayed from offset 0 into an index that already holds it."""

from __future__ import annotations

import json

import pytest

from streams.tools.synthetic import generate_stream
from tests.reliability.conftest import Decisions, Sender, labelled, metric, report, wait_for

pytestmark = pytest.mark.reliability

HOSTILE = [
    b"{not json",
    b"\xff\xfe\x00binary",
    json.dumps({"url": "https://x.example/a", "text": " "}).encode(),
]


def test_a_replay_of_the_whole_topic_repeats_every_decision_byte_for_byte(
    broker, settings_factory, worker_factory
):
    """A second consumer group with the same index namespace reads the raw topic from offset 0.

    Every unique and duplicate decision it publishes is byte-identical to the first one (same topic,
    key and value, processed_at included: the index keeps the first decision's time); rejections
    repeat code, message and raw bytes (their processed_at is the replay's: they are not in the index).
    One partition keeps the stream order, so every kind of copy, excerpts too, is decided as offline.
    """
    settings = settings_factory(topic_partitions=1)
    first = worker_factory(settings, name="first")
    articles = [labelled(a) for a in generate_stream(700, seed=31)]
    sender = Sender(broker.bootstrap, settings.topic_raw)
    decisions = Decisions(broker.bootstrap, settings)
    sender.send([p for p, _ in articles] + HOSTILE, stories=[s for _, s in articles] + [None] * len(HOSTILE))
    once = decisions.wait_all_decided(sender.sent, timeout=120, settle=1)
    assert once.records == len(sender.sent), once.summary()
    first.stop()
    replay = worker_factory(
        settings.model_copy(update={"app_id": settings.app_id + "-replay"}), name="replay"
    )
    wait_for(lambda: len(decisions.poll()) >= 2 * len(sender.sent), 120, "the replayed decisions")
    result = decisions.wait_all_decided(sender.sent, timeout=10, settle=2)
    result.name = "redelivery"
    by_value: dict[bytes, int] = {}
    for output in decisions.outputs:
        by_value[output.value] = by_value.get(output.value, 0) + 1
    identical = sum(
        1 for output in decisions.outputs if output.status != "rejected" and by_value[output.value] == 2
    )
    indexed = sum(1 for output in decisions.outputs if output.status != "rejected") // 2
    replayed = metric(replay.env["STREAMS_WEB_PORT"], "streams_replayed_decisions_total")
    result.notes.append(f"{identical // 2} of {indexed} index decisions replayed byte for byte")
    report(result)
    assert result.violating == 0, result.failures()
    assert result.records == 2 * len(sender.sent)
    assert identical == 2 * indexed
    assert replayed == indexed
    decisions.close()
    sender.close()


def test_index_records_from_before_decision_times_still_replay(redis_url: str):
    """Records written without a decision time (kind u and d, before this change) are still read: a
    replay gives the same decision with a fresh processed_at, and new copies still match them."""
    import asyncio

    import redis

    from streams.dedup import Deduplicator, index_config
    from streams.index import RedisIndex
    from streams.models import NO_POSITION, DuplicateArticle, UniqueArticle
    from tests.conftest import make_settings

    settings = make_settings(None, redis_url)
    story = "The harbour authority said on Monday that the new container terminal would open in spring. " * 5
    original = json.dumps({"url": "https://a.example/1", "id": "a", "text": story}).encode()
    copy = json.dumps({"url": "https://b.example/2", "id": "b", "text": story + " Updated."}).encode()
    later = json.dumps({"url": "https://c.example/3", "id": "c", "text": "Read: " + story}).encode()

    async def decide(*payloads: bytes) -> list:
        index = RedisIndex.from_url(redis_url, index_config(settings))
        await index.open()
        try:
            return await Deduplicator(settings, index).decide_many([(p, NO_POSITION) for p in payloads])
        finally:
            await index.close()

    first = asyncio.run(decide(original, copy))
    client = redis.Redis.from_url(redis_url)
    prefix = index_config(settings).prefix
    for key in client.scan_iter(match=f"{prefix}:r:*"):
        for field, record in client.hgetall(key).items():  # rewrite as the old layout: drop the time
            kind, rest = record[:1], record[2:].split(b"\0", 1)[1]
            if kind == b"U":  # and the title sketch: count, url, id, title, signature
                count, url, aid, _, signature = rest.split(b"\0", 4)
                rest = b"\0".join((count, url, aid, signature))
            client.hset(key, field, kind.lower() + b"\0" + rest)
    again = asyncio.run(decide(original, copy, later))
    assert isinstance(again[0], UniqueArticle) and isinstance(again[1], DuplicateArticle)
    assert again[1].duplicate_of == "a" and again[1].similarity == first[1].similarity
    assert isinstance(again[2], DuplicateArticle) and again[2].duplicate_of == "a"
