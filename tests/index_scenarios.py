"""Directed cases of the index's decision, on hand-made fingerprints, run against both indexes.

Each scenario states the outcome the specification (streams/memory_index.py's docstring) requires where
random streams rarely go: ties, the candidate cap, a full bucket read newest first, evictions, chance check
matches, the window's edges. tests/unit/test_memory_index.py runs them on MemoryIndex,
tests/integration/test_index_equivalence.py on RedisIndex.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable

import numpy as np

from streams.dedup import index_config
from streams.fingerprint import Fingerprint
from streams.index import BUCKET_SLOTS, BUCKETS_PER_KEY, Index, IndexConfig, IndexVerdict
from tests.conftest import make_settings

MakeIndex = Callable[[IndexConfig], Index]
T0 = 1_780_000_000.0
_rng = np.random.default_rng(7)
BASE = _rng.integers(0, 256, 128, dtype=np.uint32)


def config(redis_url: str = "redis://unused", **changes: object) -> IndexConfig:
    """A small band table (:data:`BUCKETS` buckets, so a test can aim at one) and a 100-second window."""
    base = index_config(make_settings(None, redis_url))
    values: dict[str, object] = {"capacity": 10, "retention_seconds": 100, "generations": 1, **changes}
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


#: Buckets of the scenarios' band table (at least the ten they aim at).
BUCKETS = config().table_keys * BUCKETS_PER_KEY
assert BUCKETS >= 10


def band(bucket: int, check: int, other: int = 0) -> int:
    """A band hash that lands in ``bucket`` with ``check``; ``other`` makes another hash there."""
    return ((bucket + BUCKETS * other) << 16) | check


def fp(changed: range | None = None, bands: tuple[int, ...] = (), count: int = 10) -> Fingerprint:
    """A fingerprint: the base signature with the values in ``changed`` replaced (so its Jaccard estimate
    with the base is set by how many), a random lead (leads never agree), ``count`` shingles (under the
    containment minimum, so only Jaccard decides), fresh URL and exact keys."""
    signature = BASE.copy()
    if changed is not None:
        # A random non-zero shift at each position: two fingerprints agree where neither changed (and by
        # chance, 1 in 255, where both did).
        shift = _rng.integers(1, 256, len(changed), dtype=np.uint32)
        signature[list(changed)] = (BASE[list(changed)] + shift) % 256
    return Fingerprint(
        url_key=secrets.token_hex(16),
        exact_key=secrets.token_hex(16),
        signature=signature,
        shingle_count=count,
        band_hashes=bands,
        lead_signature=_rng.integers(0, 256, 16, dtype=np.uint32),
    )


def unrelated(bands: tuple[int, ...]) -> Fingerprint:
    return Fingerprint(
        url_key=secrets.token_hex(16),
        exact_key=secrets.token_hex(16),
        signature=_rng.integers(0, 256, 128, dtype=np.uint32),
        shingle_count=10,
        band_hashes=bands,
        lead_signature=_rng.integers(0, 256, 16, dtype=np.uint32),
    )


async def decide(
    index: Index,
    fingerprint: Fingerprint,
    article_id: str,
    now: float = T0,
    url: str | None = None,
    titles: str = "",
) -> IndexVerdict:
    """Decide one article; by default on a host of its own (see :func:`same_host_needs_the_title`)."""
    url = url or f"https://{article_id}.example/story"
    return (await index.decide_many([(fingerprint, article_id, url, titles)], now=now))[0]


async def tie_goes_to_the_lowest_number(index: Index) -> None:
    """Two verified candidates with the same estimate: the older (lower number) wins, whichever was
    found first."""
    a, b = fp(range(0, 60), (band(1, 0x8001),)), fp(range(68, 128), (band(2, 0x8002),))
    assert (await decide(index, a, "a")).status == "unique"
    assert (await decide(index, b, "b")).status == "unique"
    verdict = await decide(index, fp(bands=(band(2, 0x8002), band(1, 0x8001))), "n")
    assert (verdict.duplicate_of, verdict.match) == ("a", "near")


async def highest_estimate_wins(index: Index) -> None:
    a, b = fp(range(0, 60), (band(1, 0x8001),)), fp(range(80, 128), (band(2, 0x8002),))
    await decide(index, a, "a")
    await decide(index, b, "b")
    verdict = await decide(index, fp(bands=(band(1, 0x8001), band(2, 0x8002))), "n")
    assert verdict.duplicate_of == "b"
    assert verdict.similarity == round((((128 - 48) / 128) - 1 / 256) / (1 - 1 / 256), 4)
    assert (verdict.measure, verdict.threshold) == ("jaccard", 0.35)


async def the_cap_takes_candidates_in_band_order(index: Index) -> None:
    """With max_candidates 1, only the first candidate found is verified: the band order decides."""
    a, b = fp(range(0, 60), (band(1, 0x8001),)), fp(range(80, 128), (band(2, 0x8002),))
    await decide(index, a, "a")
    await decide(index, b, "b")
    verdict = await decide(index, fp(bands=(band(1, 0x8001), band(2, 0x8002))), "n")
    assert verdict.duplicate_of == "a"  # b, the better one, was never looked at


async def a_full_bucket_is_read_newest_first(index: Index) -> None:
    """A bucket is scanned newest first: in a full bucket, a newer entry is found before an older one
    (max_candidates 1), and each new entry drops the oldest."""
    for i in range(BUCKET_SLOTS):  # fill the bucket with other checks
        await decide(index, unrelated((band(5, 0x9000 + i),)), f"f{i}")
    # Each is like the base, not like the other; the older one more so.
    await decide(index, fp(range(0, 45), (band(5, 0x8005),)), "older")
    await decide(index, fp(range(64, 128), (band(5, 0x8005), band(6, 0x8006))), "newer")
    verdict = await decide(index, fp(bands=(band(5, 0x8005),)), "n")
    assert verdict.duplicate_of == "newer"
    assert await index.band_evictions() == 2  # the first two fillers' entries, both still in the window


async def an_evicted_band_no_longer_finds_its_article(index: Index) -> None:
    await decide(index, fp(range(0, 10), (band(3, 0x8003),)), "story")
    for i in range(BUCKET_SLOTS):
        await decide(index, unrelated((band(3, 0x9000 + i),)), f"f{i}")
    assert await index.band_evictions() == 1
    verdict = await decide(index, fp(bands=(band(3, 0x8003),)), "copy")
    assert verdict.status == "unique"


async def a_chance_check_match_is_a_candidate(index: Index) -> None:
    """Another band hash with the same bucket and check still makes a candidate, judged on signatures."""
    await decide(index, fp(range(0, 10), (band(4, 0x8004),)), "a")
    verdict = await decide(index, fp(bands=(band(4, 0x8004, other=1),)), "n")
    assert verdict.duplicate_of == "a"


async def the_window_ends_after_generations_plus_one(index: Index) -> None:
    """Retention 100 s in 2 generations of 50 s: an article decided in generation g is found through
    generation g + 2 and forgotten in g + 3."""
    start = (T0 // 50) * 50
    await decide(index, fp(range(0, 10), (band(7, 0x8007),)), "a", now=start)
    found = await decide(index, fp(bands=(band(7, 0x8007),)), "n1", now=start + 149)
    assert found.duplicate_of == "a"
    gone = await decide(index, fp(bands=(band(7, 0x8007),)), "n2", now=start + 151)
    assert gone.status == "unique"


async def replays_conflicts_and_canonicals(index: Index) -> None:
    """A replay repeats the first decision (number, evidence, time); an id with other content is refused
    and numbers nothing; a copy of a duplicate names the duplicate's canonical, even once the canonical
    has left the window (the duplicate's entries live as long as the duplicate)."""
    start = (T0 // 100) * 100
    a = fp(range(0, 10), (band(8, 0x8008),))
    first = await decide(index, a, "a", now=start)
    assert (await decide(index, a, "a", now=start + 60)) == dataclasses.replace(first, replayed=True)
    conflict = await decide(index, fp(range(0, 90)), "a", now=start + 61)
    assert (conflict.status, conflict.sequence) == ("id_conflict", 1)
    assert await index.size() == 1
    copy = dataclasses.replace(fp(range(0, 10)), exact_key=a.exact_key)
    dup = await decide(index, copy, "b", now=start + 150)  # the next generation
    assert (dup.match, dup.duplicate_of, dup.sequence) == ("exact", "a", 2)
    # Three generations later a has left the window (it reads back two), b has not.
    again = await decide(index, copy, "b", now=start + 350)
    assert (again.replayed, again.decided_at) == (True, dup.decided_at)
    third = dataclasses.replace(fp(range(0, 10)), exact_key=a.exact_key)
    later = await decide(index, third, "c", now=start + 350)
    assert (later.match, later.duplicate_of) == ("exact", "a")


async def same_host_needs_the_title(index: Index) -> None:
    """Two pages of one host (``www.`` and port aside) match near only when their titles agree: they
    share the site's template. Other hosts need no title, nor does an untitled page."""
    story = fp(range(0, 10), (band(9, 0x8009),))
    await decide(index, story, "a", url="https://www.news.example/a", titles="Harbour barrier approved")
    copy = fp(range(100, 110), (band(9, 0x8009),))
    other_title = await decide(index, copy, "b", url="https://news.example:443/b", titles="Weather today")
    assert other_title.status == "unique"
    copy = fp(range(100, 110), (band(9, 0x8009),))
    same_title = await decide(
        index, copy, "c", url="https://News.example/c", titles="Council: harbour barrier approved"
    )
    assert (same_title.status, same_title.duplicate_of) == ("duplicate", "a")
    elsewhere = await decide(
        index, fp(range(100, 110), (band(9, 0x8009),)), "d", url="https://other.example/d"
    )
    assert elsewhere.duplicate_of == "b"  # the closer one, on another host: no title needed
    untitled = await decide(index, fp(range(100, 110), (band(9, 0x8009),)), "e", url="https://news.example/e")
    assert untitled.duplicate_of == "b"  # no headline to disagree with: the text decides alone


async def one_batch_sees_its_own_writes(index: Index) -> None:
    """In one call, each article is decided after the ones before it, as if they had been written: a
    replay, an exact copy and a near copy of an article of the same batch find it, and a bucket that
    fills within the batch drops its first entry (so a copy of that article after it is unique)."""
    a = fp(range(0, 10), (band(1, 0x8001),))
    exact = dataclasses.replace(fp(range(0, 10)), exact_key=a.exact_key)
    near = fp(range(100, 110), (band(1, 0x8001),))
    fillers = [unrelated((band(2, 0x9000 + i),)) for i in range(BUCKET_SLOTS)]
    first = fp(range(0, 10), (band(2, 0x8002),))
    batch = [
        (a, "a", "https://a.example/1", ""),
        (a, "a", "https://a.example/1", ""),
        (exact, "b", "https://b.example/1", ""),
        (near, "n", "https://n.example/1", ""),
        (first, "first", "https://first.example/1", ""),
        *((f, f"f{i}", f"https://f{i}.example/1", "") for i, f in enumerate(fillers)),
        (fp(bands=(band(2, 0x8002),)), "late", "https://late.example/1", ""),
    ]
    verdicts = await index.decide_many(batch, now=T0)
    assert [(v.status, v.sequence, v.replayed) for v in verdicts[:4]] == [
        ("unique", 1, False),
        ("unique", 1, True),
        ("duplicate", 2, False),
        ("duplicate", 3, False),
    ]
    assert [(v.match, v.duplicate_of) for v in verdicts[2:4]] == [("exact", "a"), ("near", "a")]
    assert verdicts[-1].status == "unique"
    assert await index.band_evictions() == 2  # first's entry, then f0's when the late one came in


SCENARIOS: dict[str, tuple[dict[str, object], Callable[[Index], Awaitable[None]]]] = {
    "tie": ({}, tie_goes_to_the_lowest_number),
    "best": ({}, highest_estimate_wins),
    "cap": ({"max_candidates": 1}, the_cap_takes_candidates_in_band_order),
    "newest-first": ({"max_candidates": 1}, a_full_bucket_is_read_newest_first),
    "eviction": ({}, an_evicted_band_no_longer_finds_its_article),
    "check": ({}, a_chance_check_match_is_a_candidate),
    "window": ({"generations": 2}, the_window_ends_after_generations_plus_one),
    "replay": ({"generations": 2, "retention_seconds": 200}, replays_conflicts_and_canonicals),
    "same-host": ({}, same_host_needs_the_title),
    "one-batch": ({}, one_batch_sees_its_own_writes),
}
