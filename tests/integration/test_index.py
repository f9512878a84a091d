"""The Redis index against a real Redis: atomicity, idempotence, retention, epochs, and the rule."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import numpy as np
import pytest
import redis
import redis.asyncio as aioredis

from streams.cleaning import clean_article
from streams.cli import read_jsonl_lines, sample_path
from streams.dedup import index_config
from streams.errors import IndexReset
from streams.fingerprint import Fingerprint, fingerprint, shares_a_band, verify
from streams.index import BUCKET_BYTES, BUCKETS_PER_KEY, SLOT_BYTES, RedisIndex
from streams.settings import Settings
from streams.tools.bench import random_fingerprints
from tests.conftest import make_settings
from tests.unit.test_hard_cases import EDITED, EXCERPT, SAME_EVENT, SPUN, UNRELATED, WIRE

pytestmark = pytest.mark.integration


def fp(settings: Settings, text: str, url: str) -> Fingerprint:
    cleaned = clean_article(title="", text=text, html=None, max_chars=settings.max_text_chars)
    return fingerprint(cleaned.text, url, settings.fingerprint_params())


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return make_settings(None, redis_url)


async def open_index(settings: Settings) -> RedisIndex:
    index = RedisIndex.from_url(settings.redis_url.get_secret_value(), index_config(settings))
    await index.open()
    return index


def decide_all(settings: Settings, items: list[tuple[str, str, str]]) -> list:
    async def go() -> list:
        index = await open_index(settings)
        try:
            return [await index.decide(fp(settings, text, url), aid, url) for aid, url, text in items]
        finally:
            await index.close()

    return run(go())


def test_redelivered_article_gets_its_first_decision_again(settings: Settings):
    """Deciding the same id twice replays the first verdict instead of calling it a copy of itself."""
    first, again, copy, copy_again = decide_all(
        settings,
        [("a", "https://a.example/1", WIRE), ("a", "https://a.example/1", WIRE),
         ("b", "https://b.example/2", SPUN), ("b", "https://b.example/2", SPUN)],
    )  # fmt: skip
    assert (first.status, first.replayed) == ("unique", False)
    assert (again.status, again.replayed) == ("unique", True)
    assert (copy.status, copy.duplicate_of, copy.replayed) == ("duplicate", "a", False)
    assert (copy_again.status, copy_again.duplicate_of, copy_again.replayed) == ("duplicate", "a", True)
    assert copy_again.similarity == copy.similarity


def test_concurrent_copies_of_one_story_give_exactly_one_unique(settings: Settings):
    """Many clients deciding copies of one story at the same moment: the script makes one of them unique.

    The copies are all similar to each other. (An excerpt and a spun copy of one story are each similar
    to the story but not to each other; if both arrive before it, both are new: see docs/guarantees.md.)
    """
    texts = [WIRE, EDITED, "Subscribe to the Courier!\n\n" + WIRE, WIRE + "\n\nShare this story."] * 5

    async def go() -> list:
        indexes = [await open_index(settings) for _ in texts]
        try:
            return await asyncio.gather(
                *(ix.decide(fp(settings, t, f"https://s{i}.example/x"), f"id{i}", f"https://s{i}.example/x")
                  for i, (ix, t) in enumerate(zip(indexes, texts, strict=True)))
            )  # fmt: skip
        finally:
            for ix in indexes:
                await ix.close()

    verdicts = run(go())
    assert sum(v.status == "unique" for v in verdicts) == 1


def test_entries_expire_after_the_retention_window(redis_url: str):
    """Past the retention window an article is new again, and its keys are gone from Redis."""
    settings = make_settings(None, redis_url, retention_days=2 / 86400, index_generations=1)
    (first,) = decide_all(settings, [("a", "https://a.example/1", WIRE)])
    assert first.status == "unique"
    time.sleep(5.5)
    (later,) = decide_all(settings, [("b", "https://b.example/1", WIRE)])
    assert later.status == "unique"


def test_losing_the_index_is_reported_not_ignored(settings: Settings, redis_url: str):
    """If Redis loses the index under a running worker, the next call raises IndexReset."""

    async def go() -> None:
        index = await open_index(settings)
        try:
            await index.decide(fp(settings, WIRE, "https://a.example/1"), "a", "https://a.example/1")
            for key in redis.Redis.from_url(redis_url).scan_iter(match=f"{index.config.prefix}:*"):
                redis.Redis.from_url(redis_url).delete(key)
            with pytest.raises(IndexReset):
                await index.decide(fp(settings, SPUN, "https://b.example/1"), "b", "https://b.example/1")
        finally:
            await index.close()

    run(go())


def test_a_change_of_signature_parameters_starts_a_new_namespace(redis_url: str):
    """Signatures made with other parameters never meet old ones: the key prefix differs."""
    a = index_config(make_settings(None, redis_url, namespace="n"))
    b = index_config(make_settings(None, redis_url, namespace="n", num_perm=256))
    assert a.prefix != b.prefix and a.prefix.startswith("{n}:v")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("spun", SPUN),
        ("edited", EDITED),
        ("excerpt", EXCERPT),
        ("same event", SAME_EVENT),
        ("unrelated", UNRELATED),
    ],
)
def test_the_lua_rule_agrees_with_the_python_rule(settings: Settings, name: str, text: str):
    """For a second article after the wire story, Redis decides as streams.fingerprint.verify does."""
    new = fp(settings, text, "https://b.example/2")
    old = fp(settings, WIRE, "https://a.example/1")
    expected = shares_a_band(new, old) and verify(
        new, old.compact_signature(), old.compact_lead(), old.shingle_count, index_config(settings).rule
    )
    _, verdict = decide_all(
        settings, [("a", "https://a.example/1", WIRE), ("b", "https://b.example/2", text)]
    )
    if expected:
        assert (verdict.status, verdict.measure) == ("duplicate", expected.measure), name
        assert verdict.similarity == pytest.approx(expected.value, abs=1e-3)
    else:
        assert verdict.status == "unique", name


def test_the_sample_articles_decide_as_labelled(settings: Settings):
    """On the bundled samples, every copy is a duplicate and every new story (same-event ones too) unique."""
    rows = [json.loads(line) for line in read_jsonl_lines(sample_path())]
    items = [(r["id"], r["url"], r.get("text") or "") for r in rows if r.get("text")]
    verdicts = decide_all(settings, items)
    labels = {r["id"]: r for r in rows}
    seen: set[str] = set()
    for (aid, _, _), verdict in zip(items, verdicts, strict=True):
        cluster = labels[aid]["label_cluster"]
        assert (verdict.status == "duplicate") == (cluster in seen), (aid, labels[aid]["label_kind"])
        seen.add(cluster)


def test_pipelined_batches_decide_as_one_batch_after_the_other(redis_url: str):
    """decide_batches (a batch prepared while the previous one is in Redis) = decide_many batch by batch."""
    from streams.dedup import Deduplicator
    from streams.models import SourcePosition

    payloads = read_jsonl_lines(sample_path())
    batches = [
        [(p, SourcePosition(None, None, start + i)) for i, p in enumerate(payloads[start : start + 16])]
        for start in range(0, len(payloads), 16)
    ]

    async def decide(pipelined: bool) -> list[tuple[str, str | None]]:
        settings = make_settings(None, redis_url)
        engine = Deduplicator(settings, await open_index(settings))
        try:
            if pipelined:
                decided = [d async for batch in engine.decide_batches(batches) for d in batch]
            else:
                decided = [d for batch in batches for d in await engine.decide_many(batch)]
        finally:
            engine.close()
            await engine.index.close()
        return [(d.status, getattr(d, "duplicate_of", None)) for d in decided]

    one_by_one, pipelined = run(decide(False)), run(decide(True))
    assert len(pipelined) == len(payloads)
    assert {status for status, _ in pipelined} >= {"unique", "duplicate"}
    assert pipelined == one_by_one


def decide_at(settings: Settings, items: list[tuple[float, str, str, str]]) -> list:
    """Decide (now, id, url, text) items one by one, each at its own moment."""

    async def go() -> list:
        index = await open_index(settings)
        try:
            return [
                (await index.decide_many([(fp(settings, text, url), aid, url)], now=now))[0]
                for now, aid, url, text in items
            ]
        finally:
            await index.close()

    return run(go())


def test_an_article_stays_known_until_its_generation_leaves_the_window(redis_url: str):
    """With retention R in G generations an entry is found for at least R and at most R + R/G."""
    settings = make_settings(None, redis_url, retention_days=1, index_generations=2)
    day, start = 86400.0, 1_000 * 86400.0  # the start of a generation (12 h each)
    verdicts = decide_at(
        settings,
        [(start, "a", "https://a.example/1", WIRE),
         (start + 0.7 * day, "b", "https://b.example/1", WIRE),  # next generation: still known
         (start + 1.49 * day, "c", "https://c.example/1", EDITED),  # a's third generation: still known
         (start + 1.51 * day, "d", "https://d.example/1", SPUN)],  # a has left (copies index no bands)
    )  # fmt: skip
    assert [v.status for v in verdicts] == ["unique", "duplicate", "duplicate", "unique"]
    assert [v.duplicate_of for v in verdicts[1:3]] == ["a", "a"]
    (exact,) = decide_at(settings, [(start + 1.6 * day, "e", "https://e.example/1", WIRE)])
    assert (exact.status, exact.duplicate_of) == ("duplicate", "a")  # b's exact entry is live, and names a
    (later,) = decide_at(settings, [(start + 3.6 * day, "f", "https://f.example/1", WIRE)])
    assert later.status == "unique"  # every one of them has left the window


def sweep_pass(settings: Settings, now: float) -> list:
    async def go() -> list:
        index = await open_index(settings)
        try:
            results = [await index.sweep(4096, now=now)]
            while not results[-1].pass_completed:
                results.append(await index.sweep(4096, now=now))
            return results
        finally:
            await index.close()

    return run(go())


def entry_hashes(client: redis.Redis, prefix: str) -> list[bytes]:
    """The index's shard hashes (``<prefix>:<shard>``), not its records, counters or meta hash."""
    return [k for k in client.scan_iter(match=f"{prefix}:*", count=1000) if k[len(prefix) + 1 :].isdigit()]


def test_the_sweep_removes_what_left_the_window_and_keeps_the_rest(redis_url: str):
    """A sweep pass deletes the entries and record blocks of articles past the window, not live ones."""
    settings = make_settings(None, redis_url, retention_days=1, index_generations=1, namespace="sweep")
    day, start = 86400.0, 2_000 * 86400.0
    old = [(start, f"old{i}", f"https://old.example/{i}", WIRE) for i in range(130)]
    decide_at(settings, old)
    client = redis.Redis.from_url(redis_url)
    prefix = index_config(settings).prefix
    shard_keys = entry_hashes(client, prefix)
    entries_before = sum(client.hlen(k) for k in shard_keys)

    # Still in the window: the sweep changes nothing.
    assert sum(r.entries_removed for r in sweep_pass(settings, start + 0.5 * day)) == 0
    assert sum(client.hlen(k) for k in shard_keys) == entries_before

    # One live article after the window has passed the 130: only its entries and records stay.
    (fresh,) = decide_at(settings, [(start + 2.5 * day, "new", "https://new.example/1", UNRELATED)])
    assert fresh.status == "unique"
    results = sweep_pass(settings, start + 2.5 * day)
    assert sum(r.entries_removed for r in results) == entries_before
    assert sum(r.record_blocks_deleted for r in results) == 1  # numbers 0-127; 128-131 share a block
    assert not client.exists(f"{prefix}:r:0") and client.exists(f"{prefix}:r:1")
    # What is left: the fresh article's id, URL, exact and band entries.
    assert 0 < sum(client.hlen(k) for k in entry_hashes(client, prefix)) <= 60
    (again,) = decide_at(settings, [(start + 2.6 * day, "copy", "https://copy.example/1", UNRELATED)])
    assert (again.status, again.duplicate_of) == ("duplicate", "new")


def test_a_flushed_script_cache_is_reloaded_and_decides_the_same(settings: Settings, redis_url: str):
    """After SCRIPT FLUSH (or a Redis restart with its data) the batch is decided as if nothing happened."""

    async def go() -> list:
        index = await open_index(settings)
        try:
            first = await index.decide(fp(settings, WIRE, "https://a.example/1"), "a", "https://a.example/1")
            await index.client.script_flush()
            copy = await index.decide(fp(settings, SPUN, "https://b.example/1"), "b", "https://b.example/1")
            return [first, copy]
        finally:
            await index.close()

    first, copy = run(go())
    assert first.status == "unique" and (copy.status, copy.duplicate_of) == ("duplicate", "a")


def test_a_duplicate_still_names_its_canonical_after_the_canonical_left_the_window(redis_url: str):
    """Replayed, and matched again by an exact copy, a live duplicate names the canonical article even
    once the sweep has removed the canonical's own record: the duplicate's record keeps its id and URL."""
    settings = make_settings(None, redis_url, retention_days=1, index_generations=1, namespace="canon")
    day, start = 86400.0, 3_000 * 86400.0
    fillers = [(start, f"f{i}", f"https://f.example/{i}", UNRELATED) for i in range(129)]
    (original, *_) = decide_at(settings, [(start, "a", "https://a.example/1", WIRE), *fillers])
    (copy,) = decide_at(settings, [(start + 1.5 * day, "b", "https://b.example/1", EDITED)])
    assert original.status == "unique" and (copy.status, copy.duplicate_of) == ("duplicate", "a")

    results = sweep_pass(settings, start + 2.2 * day)  # a (and its record block) has left the window
    assert sum(r.record_blocks_deleted for r in results) == 1
    replayed, exact = decide_at(
        settings,
        [(start + 2.3 * day, "b", "https://b.example/1", EDITED),
         (start + 2.3 * day, "c", "https://c.example/1", EDITED)],
    )  # fmt: skip
    assert (replayed.replayed, replayed.duplicate_of, replayed.duplicate_of_url) == (
        True, "a", "https://a.example/1",
    )  # fmt: skip
    assert replayed.similarity == copy.similarity and replayed.decided_at == copy.decided_at
    assert (exact.status, exact.match, exact.duplicate_of) == ("duplicate", "exact", "a")


def test_article_numbers_stay_dense_when_a_batch_holds_replays(settings: Settings):
    """A batch reserves a number per article and gives back what its replays did not use."""
    texts = [("a", "https://a.example/1", WIRE), ("b", "https://b.example/2", SAME_EVENT)]
    new = ("c", "https://c.example/3", UNRELATED)

    async def go() -> tuple[list, list, int]:
        index = await open_index(settings)
        try:
            items = [(fp(settings, text, url), aid, url) for aid, url, text in texts]
            first = await index.decide_many(items)
            replayed = await index.decide_many([*items, (fp(settings, new[2], new[1]), new[0], new[1])])
            return first, replayed, await index.size()
        finally:
            await index.close()

    first, replayed, size = run(go())
    assert [v.sequence for v in first] == [1, 2]
    assert [(v.sequence, v.replayed) for v in replayed] == [(1, True), (2, True), (3, False)]
    assert size == 3


def band_buckets(client: redis.Redis, prefix: str) -> list[bytes]:
    """Every bucket of the band table (the groups in hashes ``<prefix>:b:<n>``), as its raw bytes."""
    buckets = []
    for key in client.scan_iter(match=f"{prefix}:b:*", count=1000):
        for value in client.hvals(key):
            assert len(value) == BUCKET_BYTES * BUCKETS_PER_KEY
            buckets.extend(value[i : i + BUCKET_BYTES] for i in range(0, len(value), BUCKET_BYTES))
    return buckets


def test_a_full_band_table_forgets_its_oldest_bands_first_and_counts_them(redis_url: str):
    """Past capacity each bucket drops its oldest entry: the newest articles are still found, the oldest
    are not, and the evictions are counted."""
    settings = make_settings(None, redis_url, namespace="full")
    config = dataclasses.replace(index_config(settings), capacity=10)  # 18 buckets of 41 entries
    template = fp(settings, WIRE, "https://t.example/1")
    made = random_fingerprints(np.random.default_rng(3), 120, template)

    async def go() -> tuple[list, list]:
        index = RedisIndex(aioredis.Redis.from_url(redis_url), config)
        await index.open()
        try:
            first = await index.decide_many(
                [(f, f"a{i}", f"https://a.example/{i}") for i, f in enumerate(made)]
            )
            # The same signatures and bands again, under new URLs and exact keys: only LSH can match them.
            again = [
                dataclasses.replace(f, url_key=f"{i + 1:08x}" * 4, exact_key=f"{i + 9999:08x}" * 4)
                for i, f in enumerate(made)
            ]
            oldest, newest = again[:3], again[-3:]
            return first, await index.decide_many(
                [(f, f"b{i}", f"https://b.example/{i}") for i, f in enumerate(oldest + newest)]
            )
        finally:
            await index.close()

    first, second = run(go())
    assert all(v.status == "unique" for v in first)
    assert [v.status for v in second] == ["unique"] * 3 + ["duplicate"] * 3
    assert [v.duplicate_of for v in second[3:]] == ["a117", "a118", "a119"]
    client = redis.Redis.from_url(redis_url)
    evicted = int(client.hget(f"{config.prefix}:meta", "evicted") or 0)
    assert evicted > 0
    slots = [bucket[i : i + SLOT_BYTES] for bucket in band_buckets(client, config.prefix)
             for i in range(0, BUCKET_BYTES, SLOT_BYTES)]  # fmt: skip
    empty = [s == bytes(SLOT_BYTES) for s in slots]
    assert not any(empty)  # every bucket full
    assert all(s[0] & 0x80 for s, e in zip(slots, empty, strict=True) if not e)  # checks have the top bit
    # 123 unique articles of 56 bands: each band entry was written once, and kept or evicted.
    assert sum(not e for e in empty) + evicted == 123 * len(template.band_hashes)
