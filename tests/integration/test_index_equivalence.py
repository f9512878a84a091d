"""RedisIndex (lua/decide.lua) and MemoryIndex (plain Python) decide the same, verdict for verdict.

Hypothesis draws streams of originals and their copies of every kind (exact, recrawl, syndicated,
edited, spun, excerpt, HTML, mojibake, same-event rewrites, pages without content words), each under
its own id or another article's (redelivery, replays, id conflicts), in batches, with the clock moving
on between batches (generations, retention), sweeps in between, and an index small enough that the
band table wraps (evictions, chance check matches) and a candidate cap that bites. Both indexes get the
same calls; every verdict and the final counters must be equal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import uuid
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.chrome import ChromeConfig, PageBlocks
from streams.cli import read_jsonl_lines, sample_path
from streams.dedup import Deduplicator, PrepareConfig, PreparedArticle, index_config, prepare
from streams.fingerprint import Fingerprint
from streams.index import Index, IndexConfig, IndexVerdict, RedisIndex
from streams.memory_index import MemoryIndex
from streams.models import NO_POSITION, Decision
from streams.tools import synthetic
from tests.conftest import make_settings
from tests.index_scenarios import SCENARIOS
from tests.index_scenarios import config as scenario_config

pytestmark = pytest.mark.integration

T0 = 1_780_000_000.0  # a fixed start, so generations fall the same way on every run
COPY_KINDS = (*synthetic.ALL_COPY_KINDS, "same_event")


@dataclasses.dataclass(frozen=True)
class Item:
    """One article of the pool: what the index is given for it."""

    label: str
    article_id: str
    url: str
    titles: str
    fp: Fingerprint


def _prepared(record: dict[str, object]) -> PreparedArticle:
    config = PrepareConfig.from_settings(make_settings(None, "redis://unused"))
    prepared = prepare(json.dumps(record).encode(), config)
    assert isinstance(prepared, PreparedArticle), prepared
    return prepared


@lru_cache(maxsize=1)
def pool() -> tuple[Item, ...]:
    """Originals with a copy of every kind, a recrawl with other words, and pages without content words."""
    records: list[tuple[str, dict[str, object]]] = []
    for seed in range(8):
        rng = random.Random(seed)
        story = synthetic.generate_story(rng, words=(150, 320))
        original = synthetic.make_original(story, rng)
        records.append((f"s{seed}:original", original))
        for kind in COPY_KINDS:
            copy = synthetic.make_copy(kind, original, random.Random(f"{seed}-{kind}"), story=story)
            records.append((f"s{seed}:{kind}", copy))
        # The same page (URL) crawled again after the story was rewritten: a URL match, not a text one.
        rewritten = synthetic.make_copy("same_event", original, random.Random(f"{seed}-again"), story=story)
        records.append((f"s{seed}:same_url", {**rewritten, "url": str(original["url"]) + "?utm_source=x"}))
    # Pages of one site's template (different stories, the same chrome: the same-host title rule), and a
    # copy of one on the same host under its own title, and under another title.
    template = synthetic.same_template_stream(3, sites=1, stories_per_site=5)
    records += [(f"t{i}:page", page) for i, page in enumerate(template)]
    page = template[2]  # a text page
    edited = {**page, "text": str(page["text"]).replace(" the ", " a ") + "\n\nUpdated at noon."}
    records.append(("t2:same_host", {**edited, "id": "t2-copy", "url": str(page["url"]) + "-copy"}))
    retitled = {**edited, "text": str(edited["text"]) + " Then again.", "title": "Weather"}
    records.append(("t2:retitled", {**retitled, "id": "t2-retitled", "url": str(page["url"]) + "-b"}))
    for n in range(2):  # no content words: matches nothing but its own URL
        records.append(
            (
                f"numbers{n}",
                {
                    "url": f"https://scores.example/{n}",
                    "text": f"1 - 0 and 2 - 2, then 3 - 1 for the other, 4 - 4 of it all ({n}).",
                },
            )
        )
    items = []
    for label, record in records:
        prepared = _prepared(record)
        items.append(
            Item(label, prepared.article_id, prepared.raw.url, prepared.titles, prepared.fingerprint)
        )
    return tuple(items)


# One step: an article of the pool under the id of an article of the pool (its own, or another's).
ARTICLE = st.tuples(st.integers(0, 127), st.integers(0, 127), st.booleans())
STEP = st.one_of(
    st.tuples(st.just("batch"), st.floats(0, 90), st.lists(ARTICLE, min_size=1, max_size=9)),
    st.tuples(st.just("sweep"), st.floats(0, 30), st.just([])),
)


def run_steps(
    index: Index,
    steps: list[tuple[str, float, list[tuple[int, int, bool]]]],
    stories: list[int] | None = None,
) -> list[object]:
    """Run the steps on the index; the articles are those of ``stories`` (default all) and the pages
    without content words. Returns every verdict, then the index's size and evictions."""
    items = [
        i for i in pool() if stories is None or not i.label.startswith("s") or int(i.label[1]) in stories
    ]

    async def go() -> list[object]:
        await index.open()
        try:
            now, out = T0, []
            for kind, wait, articles in steps:
                now += wait
                if kind == "sweep":
                    await index.sweep(1 << index.config.shard_bits, now=now)
                    continue
                batch = []
                for which, id_of, own_id in articles:
                    item = items[which % len(items)]
                    article_id = item.article_id if own_id else items[id_of % len(items)].article_id
                    batch.append((item.fp, article_id, item.url, item.titles))
                out.append(await index.decide_many(batch, now=now))
            out.append((await index.size(), await index.band_evictions()))
            return out
        finally:
            await index.drop()
            await index.close()

    return asyncio.run(go())


def small_config(redis_url: str, capacity: int, max_candidates: int, generations: int) -> IndexConfig:
    config = index_config(make_settings(None, redis_url), namespace=f"eq-{uuid.uuid4().hex[:10]}")
    return dataclasses.replace(
        config,
        capacity=capacity,
        max_candidates=max_candidates,
        retention_seconds=120,
        generations=generations,
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(STEP, min_size=1, max_size=12),
    stories=st.lists(st.integers(0, 7), min_size=1, max_size=3, unique=True),
    capacity=st.sampled_from([3, 20, 10_000]),
    max_candidates=st.sampled_from([1, 3, 64]),
    generations=st.integers(1, 3),
)
def test_redis_and_memory_indexes_give_the_same_verdicts(
    redis_url: str, steps: list, stories: list[int], capacity: int, max_candidates: int, generations: int
) -> None:
    config = small_config(redis_url, capacity, max_candidates, generations)
    in_redis = run_steps(RedisIndex.from_url(redis_url, config), steps, stories)
    in_memory = run_steps(MemoryIndex(config), steps, stories)
    assert in_memory == in_redis


def test_the_stream_exercises_every_outcome(redis_url: str) -> None:
    """The pool and the small table reach every branch the property test compares."""
    config = small_config(redis_url, capacity=3, max_candidates=3, generations=1)
    n = len(pool())
    steps = [
        ("batch", 0.0, [(i, i, True) for i in range(n)]),  # every article once
        ("batch", 1.0, [(i, i, True) for i in range(n)]),  # redelivered: replays
        ("batch", 1.0, [(0, 1, False)]),  # another article's id: a conflict
        ("batch", 500.0, [(0, 0, True)]),  # past the window: decided afresh
    ]
    verdicts = run_steps(MemoryIndex(config), steps)
    first, again, conflict, later, (size, evicted) = verdicts
    assert isinstance(first, list) and isinstance(again, list)
    seen = {(v.status, v.match, v.measure) for v in first if isinstance(v, IndexVerdict)}
    assert {("unique", None, None), ("duplicate", "url", "url"), ("duplicate", "exact", "exact")} <= seen
    assert {m for s, match, m in seen if match == "near"} >= {"jaccard", "containment"}
    assert all(v.replayed for v in again)
    assert [v.status for v in conflict] == ["id_conflict"]  # type: ignore[union-attr]
    assert [(v.status, v.replayed) for v in later] == [("unique", False)]  # type: ignore[union-attr]
    assert evicted > 0 and size == n + 1
    assert run_steps(RedisIndex.from_url(redis_url, config), steps) == verdicts


def template_pages() -> list[bytes]:
    pages = synthetic.same_template_stream(5, sites=2, stories_per_site=24)
    return [json.dumps(page).encode() for page in pages]


@pytest.mark.parametrize(
    ("inputs", "overrides"),
    [
        (lambda: read_jsonl_lines(sample_path()), {}),
        # Pages of two sites' templates: chrome learned, and with few blocks a host, pruned.
        (template_pages, {"chrome_max_blocks": 16}),
    ],
    ids=["samples", "site-templates"],
)
def test_the_engine_decides_the_same_with_either_index(redis_url: str, inputs, overrides) -> None:
    """Deduplicator (text, HTML, bad inputs, site chrome counted), batches of 50: equal decisions."""
    settings_ = make_settings(None, redis_url, **overrides)
    lines = inputs()
    batches = [
        [(line, NO_POSITION) for line in lines[start : start + 50]] for start in range(0, len(lines), 50)
    ]

    def decide(index: Index) -> list[dict[str, object]]:
        async def go() -> list[Decision]:
            await index.open()
            engine = Deduplicator(settings_, index)
            try:
                return [d for batch in batches for d in await engine.decide_many(batch)]
            finally:
                engine.close()
                await index.drop()
                await index.close()

        return [{k: v for k, v in d.to_dict().items() if k != "processed_at"} for d in asyncio.run(go())]

    config = index_config(settings_)
    in_redis = decide(RedisIndex.from_url(redis_url, config))
    in_memory = decide(MemoryIndex(config))
    assert len(in_memory) == len(lines)
    assert in_memory == in_redis


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_in_redis(redis_url: str, name: str) -> None:
    """The directed cases of tests/index_scenarios.py (run on MemoryIndex by the unit tests) on Redis."""
    changes, scenario = SCENARIOS[name]
    index = RedisIndex.from_url(redis_url, scenario_config(redis_url, **changes))

    async def go() -> None:
        await index.open()
        try:
            await scenario(index)
        finally:
            await index.drop()
            await index.close()

    asyncio.run(go())


# Site chrome counting: pages of two hosts made of a small vocabulary of blocks, under a few page tags
# (a tag again is the same page counted again).
PAGE = st.builds(
    PageBlocks,
    host=st.sampled_from(["a.example", "b.example"]),
    tag=st.integers(0, 6).map(lambda t: t.to_bytes(4, "big")),
    blocks=st.lists(st.integers(0, 40).map(lambda b: b.to_bytes(8, "big")), max_size=12, unique=True).map(
        b"".join
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(st.lists(PAGE, max_size=6), min_size=1, max_size=10),
    min_pages=st.integers(1, 4),
    max_blocks=st.sampled_from([4, 16, 1000]),
)
def test_redis_and_memory_count_site_chrome_the_same(
    redis_url: str, batches: list[list[PageBlocks]], min_pages: int, max_blocks: int
) -> None:
    chrome = ChromeConfig(min_pages=min_pages, max_blocks=max_blocks, ttl_seconds=3600, cache_hosts=10)
    config = small_config(redis_url, 10_000, 64, 1)

    def count(index: Index) -> list[list[bytes]]:
        async def go() -> list[list[bytes]]:
            await index.open()
            try:
                return [(await index.decide_and_count([], pages, chrome))[1] for pages in batches]
            finally:
                await index.drop()
                await index.close()

        return asyncio.run(go())

    assert count(MemoryIndex(config)) == count(RedisIndex.from_url(redis_url, config))
