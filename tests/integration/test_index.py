"""The Redis index against a real Redis: atomicity, idempotence, retention, epochs, and the rule."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis

from streams.cleaning import clean_article
from streams.cli import read_jsonl_lines, sample_path
from streams.dedup import index_config
from streams.errors import IndexReset
from streams.fingerprint import Fingerprint, fingerprint, shares_a_band, verify
from streams.index import RedisIndex
from streams.settings import Settings
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
