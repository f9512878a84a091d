"""The index's whole decision in plain Python: the reference of ``lua/decide.lua``, and an index for one
process (``streams dedup`` and ``streams eval`` without Redis, and the engine's tests).

:class:`MemoryIndex` gives the same verdicts as :class:`streams.index.RedisIndex` for the same articles
decided in the same order at the same times (tests/integration/test_index_equivalence.py drives both
with random streams and requires identical verdicts). It lives in this process's memory: two processes
do not share it, and it is gone when the process ends; the workers use Redis.

For each article, in order:

1. **The same article again** (its id, canonical URL and words all seen in the window): the decision it
   got the first time is replayed (same number, evidence and decision time). **Its id with other
   content**: refused as ``id_conflict``; nothing is numbered or written.
2. **The same page**: an article in the window with the same canonical URL; 3. **the same words**: one
   with the same exact key. The article is a duplicate of that article's canonical (the article itself
   if it was unique, else the one its own record names).
4. **A near duplicate**: the LSH candidates (see below) are verified one by one with
   :func:`streams.fingerprint.verify` (for two pages of one host, :func:`streams.fingerprint.url_host`,
   their title sketches must agree too); of those that pass, the one with the highest Jaccard estimate
   is the canonical, the lowest number on a tie.
5. **New**: unique, and its bands enter the band table.

Every article that gets a new decision (2 to 5) takes the next number, and its id, name (id alone), URL
and exact entries point to it from then on, a duplicate's too (its record names its canonical), so the
entries of an article live exactly as long as its number does.

**Retention.** Time is cut into generations of ``retention / generations`` seconds; the first call in
a generation records its first number (the next one to be given). An article is in the window while
its number is at least the first number of the oldest of the current and the ``generations`` previous
generations that have one. Entries and candidates outside the window are ignored; :meth:`MemoryIndex.sweep`
forgets them (it changes no decision).

**Capacity.** The band table has ``table_keys * BUCKETS_PER_KEY`` buckets; a band hash picks a bucket
(its top 48 bits modulo the bucket count) and a 15-bit check (its low bits, top bit set). A bucket
keeps up to ``BUCKET_SLOTS`` entries, newest first: an entry goes in front and, once the bucket is
full, its oldest entry is dropped. Past about ``capacity`` unique articles that entry still belongs to
an article of the window, which then loses that band (counted by :meth:`band_evictions`).
Candidates are the window's articles in a slot with the band's check, taken band by band, each bucket
newest first, at most ``max_candidates`` distinct ones (so a chance match of the check also
makes a candidate, which verification judges like any other).

**Site chrome** (:meth:`MemoryIndex.decide_and_count`, as ``lua/chrome.lua``): per host and text block,
the tags of up to ``min_pages`` distinct pages it was seen on; a block with ``min_pages`` of them is
chrome. Past ``max_blocks`` blocks a host is pruned: blocks on fewer pages go, and so does chrome not
seen since the previous prune. A host not counted for ``ttl_seconds`` is forgotten.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from streams.chrome import ChromeConfig, PageBlocks
from streams.fingerprint import Fingerprint, Match, title_sketch, url_host, verify
from streams.index import (
    BUCKET_SLOTS,
    BUCKETS_PER_KEY,
    IndexConfig,
    IndexItem,
    IndexVerdict,
    SweepResult,
    decode_time,
    encode_time,
    generation_of,
)


@dataclass(frozen=True, slots=True)
class _Unique:
    """What the index keeps of a unique article: enough to verify a candidate against it."""

    shingle_count: int
    url: str
    article_id: str
    signature: bytes  # compact (8 bits a value)
    lead: bytes  # compact lead signature
    title: str  # title_sketch of its titles, for the same-host rule
    decided_at: str  # encode_time of the first decision


@dataclass(frozen=True, slots=True)
class _Duplicate:
    """What the index keeps of a duplicate: its canonical and the evidence, to replay the decision."""

    canonical: int
    canonical_url: str
    canonical_id: str
    match: str
    measure: str
    similarity: float
    threshold: float
    decided_at: str


@dataclass(slots=True)
class _HostChrome:
    """One host's chrome counts: per block the prune round it was last seen in (its mark) and the tags
    of up to ``min_pages`` distinct pages it was seen on."""

    round: int | None = None  # None until the first prune
    blocks: dict[bytes, tuple[int, bytes]] = field(default_factory=dict)
    seen_at: float = 0.0


class _Bucket:
    """Up to ``BUCKET_SLOTS`` (check, number) entries, newest first."""

    __slots__ = ("slots",)

    def __init__(self) -> None:
        self.slots: list[tuple[int, int]] = []

    def write(self, check: int, number: int) -> int | None:
        """Put an entry in front; returns the number of the oldest entry if that one is dropped."""
        self.slots.insert(0, (check, number))
        return self.slots.pop()[1] if len(self.slots) > BUCKET_SLOTS else None


def _as_lua_prints(value: float, digits: str) -> float:
    # The script sends numbers back as text: the similarity with four decimals, a threshold as Lua's
    # tostring writes it (14 significant digits).
    return float(format(value, digits))


class MemoryIndex:
    """The index of :mod:`streams.index` in this process's memory (see the module docstring)."""

    def __init__(self, config: IndexConfig) -> None:
        self.config = config
        self.epoch = secrets.token_hex(8)
        self._reset()

    def _reset(self) -> None:
        self._numbered = 0  # numbers given so far
        self._first_number: dict[int, int] = {}  # generation -> its first number
        self._ids: dict[tuple[str, str, str], int] = {}  # (id, url key, exact key) -> number
        self._names: dict[str, int] = {}  # id -> number
        self._urls: dict[str, int] = {}  # url key -> number
        self._exacts: dict[str, int] = {}  # exact key -> number
        self._records: dict[int, _Unique | _Duplicate] = {}
        self._buckets: dict[int, _Bucket] = {}
        self._evicted = 0
        self._chrome: dict[str, _HostChrome] = {}

    async def open(self) -> str:
        return self.epoch

    async def close(self) -> None:
        return None

    async def decide(self, fp: Fingerprint, article_id: str, url: str) -> IndexVerdict:
        """Decide one article (see :meth:`decide_many`)."""
        return (await self.decide_many([(fp, article_id, url)]))[0]

    async def decide_many(self, items: Sequence[IndexItem], now: float | None = None) -> list[IndexVerdict]:
        """Decide articles (fingerprint, id, URL[, titles]) in order; ``now`` (Unix time, default the
        clock) places them in a generation."""
        now = time.time() if now is None else now
        first_live = self._window_start(now)
        decided_at = encode_time(now)
        return [
            self._decide(item[0], item[1], item[2], item[3] if len(item) > 3 else "", first_live, decided_at)
            for item in items
        ]

    async def decide_and_count(
        self,
        items: Sequence[IndexItem],
        chrome: Sequence[PageBlocks] = (),
        chrome_config: ChromeConfig | None = None,
        now: float | None = None,
    ) -> tuple[list[IndexVerdict], list[bytes]]:
        """:meth:`decide_many`, then the pages' blocks counted as site chrome (as ``lua/chrome.lua``):
        the verdicts and, per page, the hashes of its blocks that are chrome now."""
        now = time.time() if now is None else now
        verdicts = await self.decide_many(items, now)
        if not chrome or chrome_config is None or not chrome_config.enabled:
            return verdicts, []
        return verdicts, [self._count_chrome(page, chrome_config, now) for page in chrome]

    def _window_start(self, now: float) -> int:
        """The lowest number in the window at ``now``; the first call of a generation starts it."""
        generation = generation_of(self.config, now)
        self._first_number.setdefault(generation, self._numbered + 1)
        live = range(generation - self.config.generations, generation + 1)
        return min(self._first_number[g] for g in live if g in self._first_number)

    def _decide(
        self, fp: Fingerprint, article_id: str, url: str, titles: str, first_live: int, decided_at: str
    ) -> IndexVerdict:
        # 1. The same article again, or its id with other content.
        seen = _live(self._ids, (article_id, fp.url_key, fp.identity_key), first_live)
        if seen is not None:
            return self._replay(seen)
        named = _live(self._names, article_id, first_live)
        if named is not None:
            return IndexVerdict(status="id_conflict", sequence=named, replayed=False)

        self._numbered += 1
        number = self._numbered
        # NUL bytes separate the fields of the script's records and replies: the script gets them removed.
        stored_id, stored_url = article_id.replace("\0", ""), url.replace("\0", "")

        def as_duplicate(
            canonical: tuple[int, str, str], match: str, measure: str, similarity: float, threshold: float
        ) -> IndexVerdict:
            canonical_number, canonical_id, canonical_url = canonical
            self._records[number] = _Duplicate(
                canonical=canonical_number,
                canonical_url=canonical_url,
                canonical_id=canonical_id,
                match=match,
                measure=measure,
                similarity=similarity,
                threshold=threshold,
                decided_at=decided_at,
            )
            self._point_entries(number, fp, article_id)
            return IndexVerdict(
                status="duplicate",
                sequence=number,
                replayed=False,
                match=match,
                measure=measure,
                similarity=similarity,
                threshold=threshold,
                duplicate_of=canonical_id,
                duplicate_of_url=canonical_url,
                decided_at=decode_time(decided_at),
            )

        # 2. The same page again, or 3. the same words again.
        for match, hit in (
            ("url", _live(self._urls, fp.url_key, first_live)),
            ("exact", _live(self._exacts, fp.exact_key, first_live)),
        ):
            if hit is not None:
                return as_duplicate(self._canonical_of(hit), match, match, 1.0, 1.0)

        # 4. Near duplicates: of the candidates that pass verification, the one with the highest
        # Jaccard estimate, then the lowest number. (Two pages of one host must also agree on a title.)
        signature, lead = fp.compact_signature(), fp.compact_lead()
        title, host = title_sketch(titles), url_host(stored_url)
        verified: list[tuple[float, int, _Unique, Match]] = []
        for candidate in self._candidates(fp, first_live):
            record = self._records.get(candidate)
            # (A record of other fingerprint parameters is never compared.)
            if isinstance(record, _Unique) and (len(record.signature), len(record.lead)) == (
                len(signature),
                len(lead),
            ):
                found = verify(
                    fp,
                    record.signature,
                    record.lead,
                    record.shingle_count,
                    self.config.rule,
                    same_host=url_host(record.url) == host,
                    new_title=title,
                    old_title=record.title,
                )
                if found is not None:
                    verified.append((-found.jaccard, candidate, record, found))
        if verified:
            _, canonical, record, found = min(verified, key=lambda v: (v[0], v[1]))
            return as_duplicate(
                (canonical, record.article_id, record.url),
                "near",
                found.measure,
                _as_lua_prints(found.value, ".4f"),
                _as_lua_prints(found.threshold, ".14g"),
            )

        # 5. New: record it and index its bands.
        self._records[number] = _Unique(
            fp.shingle_count, stored_url, stored_id, signature, lead, title, decided_at
        )
        self._point_entries(number, fp, article_id)
        for band in fp.band_hashes:
            bucket = self._buckets.setdefault(self._bucket_of(band), _Bucket())
            dropped = bucket.write(_check_of(band), number)
            if dropped is not None and dropped >= first_live:
                self._evicted += 1
        return IndexVerdict(
            status="unique", sequence=number, replayed=False, decided_at=decode_time(decided_at)
        )

    def _replay(self, number: int) -> IndexVerdict:
        record = self._records[number]
        decided_at = decode_time(record.decided_at)
        if isinstance(record, _Unique):
            return IndexVerdict(status="unique", sequence=number, replayed=True, decided_at=decided_at)
        return IndexVerdict(
            status="duplicate",
            sequence=number,
            replayed=True,
            match=record.match,
            measure=record.measure,
            similarity=record.similarity,
            threshold=record.threshold,
            duplicate_of=record.canonical_id,
            duplicate_of_url=record.canonical_url,
            decided_at=decided_at,
        )

    def _canonical_of(self, number: int) -> tuple[int, str, str]:
        """The number, id and URL of the canonical article of an article in the window."""
        record = self._records[number]
        if isinstance(record, _Duplicate):
            return record.canonical, record.canonical_id, record.canonical_url
        return number, record.article_id, record.url

    def _point_entries(self, number: int, fp: Fingerprint, article_id: str) -> None:
        self._ids[(article_id, fp.url_key, fp.identity_key)] = number
        self._names[article_id] = number
        self._urls[fp.url_key] = number
        self._exacts[fp.exact_key] = number

    def _bucket_of(self, band: int) -> int:
        return (band >> 16) % (self.config.table_keys * BUCKETS_PER_KEY)

    def _candidates(self, fp: Fingerprint, first_live: int) -> list[int]:
        found: dict[int, None] = {}  # in the order found
        for band in fp.band_hashes:
            bucket = self._buckets.get(self._bucket_of(band))
            if bucket is None:
                continue
            check = _check_of(band)
            for slot in bucket.slots:
                if slot[0] != check or slot[1] < first_live or slot[1] in found:
                    continue
                if len(found) < self.config.max_candidates:
                    found[slot[1]] = None
        return list(found)

    def _count_chrome(self, page: PageBlocks, config: ChromeConfig, now: float) -> bytes:
        """Count one page's blocks for its host; returns those of its blocks that are chrome now."""
        host = self._chrome.get(page.host)
        if host is not None and now - host.seen_at >= config.ttl_seconds:
            host = None  # not counted for ttl_seconds: forgotten
        blocks = [page.blocks[i : i + 8] for i in range(0, len(page.blocks), 8)]
        if not blocks:
            return b""
        if host is None:
            host = self._chrome[page.host] = _HostChrome()
        full = 4 * config.min_pages  # tags of min_pages distinct pages
        mark = (host.round or 0) % 256
        chrome = []
        for block in blocks:
            _, tags = host.blocks.get(block, (mark, b""))
            if len(tags) < full and page.tag not in {tags[i : i + 4] for i in range(0, len(tags), 4)}:
                tags += page.tag
            host.blocks[block] = (mark, tags)
            if len(tags) >= full:
                chrome.append(block)
        host.seen_at = now
        # (The script's hash holds the round in a field of its own once it has been pruned.)
        if len(host.blocks) + (host.round is not None) > config.max_blocks + 1:
            # Pruned: blocks on fewer than min_pages pages go, and chrome not seen since the last prune.
            round_ = host.round or 0
            host.blocks = {
                b: (m, t) for b, (m, t) in host.blocks.items() if len(t) >= full and m == round_ % 256
            }
            host.round = (round_ + 1) % 256
        return b"".join(chrome)

    async def sweep(
        self, shards: int = 0, now: float | None = None, max_record_blocks: int = 1024
    ) -> SweepResult:
        """Forget the entries, records and generations that have left the window at ``now`` (all at once:
        ``shards`` and ``max_record_blocks`` are for Redis). No decision changes."""
        now = time.time() if now is None else now
        generation = generation_of(self.config, now)
        oldest = generation - self.config.generations
        for old in [g for g in self._first_number if g < oldest]:
            del self._first_number[old]
        firsts = [n for g, n in self._first_number.items() if g <= generation]
        first_live = min(firsts, default=self._numbered + 1)
        removed = 0
        for entries in (self._ids, self._names, self._urls, self._exacts):
            stale = [key for key, number in entries.items() if number < first_live]
            for key in stale:
                del entries[key]  # type: ignore[arg-type]
            removed += len(stale)
        # A duplicate's record keeps its canonical's id and URL: the canonical's own record can go.
        records = [number for number in self._records if number < first_live]
        for number in records:
            del self._records[number]
        return SweepResult(0, removed, len(records), 0, True)

    async def size(self) -> int:
        """Articles numbered so far (unique and duplicate)."""
        return self._numbered

    async def band_evictions(self) -> int:
        """Band entries overwritten while their article was still in the window."""
        return self._evicted

    async def drop(self) -> int:
        """Forget everything. Returns how many records there were."""
        records = len(self._records)
        self._reset()
        return records


_Key = TypeVar("_Key")


def _live(entries: dict[_Key, int], key: _Key, first_live: int) -> int | None:
    """The number an entry points to, if that article is in the window."""
    number = entries.get(key)
    return number if number is not None and number >= first_live else None


def _check_of(band: int) -> int:
    return (band & 0x7FFF) | 0x8000
