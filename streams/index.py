"""The Redis LSH index: one atomic query-and-insert per article.

Why not datasketch's ``MinHashLSH`` with Redis storage: it pickles keys, makes about 30 round trips
per article, keeps about 5 KB per article, has no expiry, and its query-then-insert is not atomic, so
two workers that see two copies of a story at once both call it new. This index keeps datasketch's
idea (bands of ``rows`` MinHash values as bucket keys) and lays out Redis itself:

* Everything lives under ``{namespace}:v5:<tag>``; the tag encodes the shingles, permutations, seed,
  bands, shard count and band table size, so a change of parameters starts a new index instead of
  mixing signatures (older layouts are not read: an upgrade starts empty; v3 keyed the id entry by the
  id alone, v4 by the id with the article's URL and exact keys, and keeps a title sketch per record; v5
  keeps the band table in hashes and the id entry in the name entry's shard).
  The braces are a cluster hash tag: all keys of an index sit in one slot, which Lua needs.
* Articles get a sequence number (``<prefix>:seq``) that only grows. Time is cut into generations
  (``retention / index_generations`` long); ``<prefix>:meta`` holds the index's epoch and the first
  number of each generation. An entry is live while its article number is at least the first number
  of the oldest live generation: one comparison, so the entries of every generation share one hash
  per shard and a lookup is one ``HGET``, not one per generation.
* The LSH bands live in a band table of fixed-size buckets: hashes ``<prefix>:b:<n>`` of up to 65,536
  fields, a field (2 bytes) a bucket of 41 slots of 6 bytes (246 bytes, with its header jemalloc's
  256-byte class). A band's hash picks a bucket, and a slot holds a 15-bit check of the band and an
  article number. A lookup is a C-speed search of the bucket for the check; a bucket is created on its
  first write. A bucket keeps its entries newest first: a write puts the new entry in front and drops the
  last, the bucket's oldest, so entries that left the window are overwritten without a sweep, and past
  capacity the oldest articles' bands go first (counted in ``<prefix>:meta`` as ``evicted``). The table
  is sized from ``index_capacity`` (the unique articles the index holds at once) to about 33 entries a
  bucket, about 9 bytes an entry, so its cost does not depend on how full it is.
* One script call reads every bucket of its batch's bands first (one ``HMGET`` per band hash: the
  client lists the batch's buckets once each, grouped by hash, and each band names its bucket by its
  place in that list, :func:`batch_bands`), keeps what the batch writes (buckets, records, entries) in
  Lua tables that answer the batch's own lookups, and writes it at the end, one ``HSET`` per key: 6-8
  Redis commands per article instead of one per band (docs/performance.md, "The index call"). Every
  string that enters Lua is hashed byte by byte by Redis's Lua, so a bucket is the most the script
  reads at a time, and a write makes the new bucket in one ``struct.pack``, with no substrings.
* URL, exact, id and name entries live in small hashes ``<prefix>:<shard>`` that Redis keeps in its compact
  listpack encoding (a 6-byte field and the article number); the shard count is sized from
  ``index_capacity`` so a hash holds at most about 64 entries. An article's id entry is in its name
  entry's shard, so one ``HMGET`` reads both.
* Records (``<prefix>:r:<n // 128>``) keep, for a unique article, its shingle count, URL, id, title
  sketch (:func:`streams.fingerprint.title_sketch`, for the same-host rule) and its 8-bit signature for
  verification; for a duplicate, the canonical article's number, id and URL and
  the evidence, so redelivery replays the decision, even once the canonical's own record has left the
  window; both keep the time of the first decision (8 bytes), so the
  replayed record is the same, byte for byte.
* Nothing has a TTL: entries past the window are skipped by every lookup, and :meth:`RedisIndex.sweep`
  (``lua/sweep.lua``, run by every worker on a timer, a slice of the small hashes at a time behind a
  shared cursor) removes them and deletes record blocks whose articles have all left the window.
* Site chrome counts (``<prefix>:c:<host>``, ``lua/chrome.lua``, see :mod:`streams.chrome`) share the
  namespace and its slot; :meth:`RedisIndex.decide_and_count` sends them in the decisions' pipeline.
* The epoch is a random token set when the index is created. If it changes (Redis restarted
  without its data), every worker notices on its next call and reports it loudly.

The script (``lua/decide.lua``) does the whole decision in one ``EVALSHA``: it is the only writer
of decisions; the sweep script only removes what has left the window.
"""

from __future__ import annotations

import itertools
import math
import secrets
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, TypeVar

import numpy as np
import redis.asyncio as aioredis
import xxhash
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import OutOfMemoryError as RedisOutOfMemoryError
from redis.exceptions import TimeoutError as RedisTimeoutError

from streams.chrome import ChromeConfig, PageBlocks, chrome_args
from streams.errors import IndexAuthFailed, IndexReset, IndexUnavailable
from streams.fingerprint import Fingerprint, Rule, title_sketch
from streams.fingerprint_params import FingerprintParams

T = TypeVar("T")
LAYOUT_VERSION = "v5"
_LISTPACK_TARGET_ENTRIES = 64  # Redis keeps hashes of up to 128 small entries as a compact listpack.
_KEY_ENTRIES_PER_ARTICLE = 5  # id, name, URL and exact entries, for duplicates too: room for a fourth more.
BUCKET_SLOTS = 41  # entries of a band bucket, 6 bytes each, newest first
SLOT_BYTES = 6
BUCKET_BYTES = BUCKET_SLOTS * SLOT_BYTES  # 246: with its sds header, jemalloc's 256-byte class
BUCKETS_PER_KEY = 1  # a bucket is one field of a band hash
_TABLE_LOAD = 0.8  # band entries per slot at capacity: 0.6% evicted early (the Poisson tail)


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """How the index is laid out and how it decides."""

    namespace: str
    params: FingerprintParams
    retention_seconds: int
    generations: int
    capacity: int
    rule: Rule
    max_candidates: int

    @property
    def shard_bits(self) -> int:
        """log2 of the number of small hashes that hold the id, URL and exact entries."""
        entries = self.capacity * _KEY_ENTRIES_PER_ARTICLE
        # At most 32 bits: the script reads shards as uint32 (4 billion hashes is past any real index).
        return min(32, max(4, math.ceil(math.log2(max(2, entries / _LISTPACK_TARGET_ENTRIES)))))

    @property
    def table_keys(self) -> int:
        """Band groups (of :data:`BUCKETS_PER_KEY` buckets) of the band table, sized so that ``capacity``
        unique articles fill it to the target load.

        Rounded up to a number with four significant bits (at most 1/8 more than needed): the count is
        part of the prefix, so small changes of the capacity keep the index.
        """
        bands = self.params.bands + self.params.lead_bands + self.params.chunk_sample
        keys = math.ceil(self.capacity * bands / (BUCKET_SLOTS * _TABLE_LOAD) / BUCKETS_PER_KEY)
        step = 1 << max(0, keys.bit_length() - 4)
        return -(-keys // step) * step

    @property
    def prefix(self) -> str:
        return (
            f"{{{self.namespace}}}:{LAYOUT_VERSION}:{self.params.version_tag()}"
            f"-h{self.shard_bits}-t{self.table_keys}"
        )

    @property
    def generation_seconds(self) -> float:
        return self.retention_seconds / self.generations


@dataclass(frozen=True, slots=True)
class IndexVerdict:
    """What the index decided for one article."""

    status: str  # "unique", "duplicate" or "id_conflict" (the id names an article with other content)
    sequence: int
    replayed: bool
    match: str | None = None  # url, exact or near
    measure: str | None = None  # url, exact, jaccard, containment or lead_containment
    similarity: float = 1.0
    threshold: float = 1.0
    duplicate_of: str | None = None
    duplicate_of_url: str | None = None
    decided_at: float | None = None  # Unix time of the first decision (ms precision); None if unknown


def encode_time(seconds: float) -> str:
    """Unix time as base-36 milliseconds: 8 characters until 2059, stored in each index record."""
    value, digits = int(seconds * 1000), ""
    while True:
        value, rest = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if not value:
            return digits


def decode_time(token: str) -> float | None:
    """The Unix time of :func:`encode_time`'s token; None for a record written without one."""
    try:
        return int(token, 36) / 1000 if token else None
    except ValueError:
        return None


_PACKED_BAND = np.dtype([("key", ">u4"), ("offset", ">u2"), ("check", ">u2")])


def packed_bands(band_hashes: tuple[int, ...], table_keys: int) -> bytes:
    """The bands of one article: per band a big-endian uint32 bucket number (which
    :func:`batch_bands` turns into the bucket's place in its batch's list), a uint16 byte offset of
    the bucket in its group (0, as a group is one bucket), and the 2-byte check.

    The bucket is the band hash's top 48 bits modulo the table's buckets; the check is its low 15 bits
    with the top bit set, so it never matches an empty slot (a chance match only adds a candidate, which
    verification then rejects).
    """
    values = np.fromiter(band_hashes, dtype=np.uint64, count=len(band_hashes))
    return _packed_band_array(values, table_keys).tobytes()


def _packed_band_array(values: np.ndarray, table_keys: int) -> np.ndarray:
    buckets = (values >> np.uint64(16)) % np.uint64(table_keys * BUCKETS_PER_KEY)
    packed = np.empty(len(values), dtype=_PACKED_BAND)
    packed["key"] = buckets // np.uint64(BUCKETS_PER_KEY)
    packed["offset"] = (buckets % np.uint64(BUCKETS_PER_KEY)) * np.uint64(BUCKET_BYTES)
    packed["check"] = (values & np.uint64(0x7FFF)) | np.uint64(0x8000)
    return packed


def generation_of(config: IndexConfig, now: float) -> int:
    """The generation that ``now`` (Unix time) falls in."""
    return int(now // config.generation_seconds)


#: Articles decided in one script call at most: a longer batch is split into several calls of one
#: pipeline, so no call keeps Redis busy for more than a few milliseconds.
SCRIPT_BATCH_ARTICLES = 64


#: One article to decide: fingerprint, id, URL and optionally its title (for the same-host rule).
IndexItem = tuple[Fingerprint, str, str] | tuple[Fingerprint, str, str, str]


def article_args(
    fp: Fingerprint, article_id: str, url: str, shard_bits: int, table_keys: int, title: str = ""
) -> list[str | bytes | int]:
    """The seven arguments of one article in ``decide.lua``'s ARGV (pure; see the script's header)."""
    args = _args_but_bands(fp, article_id, url, shard_bits, title)
    args[_BANDS_ARG] = packed_bands(fp.band_hashes, table_keys)
    return args


#: Where an article's packed bands are among its seven arguments.
_BANDS_ARG = 5


def _args_but_bands(
    fp: Fingerprint, article_id: str, url: str, shard_bits: int, title: str
) -> list[str | bytes | int]:
    """:func:`article_args` with ``b""`` for the bands, which a batch packs at once (:func:`batch_bands`)."""
    # 128-bit keys: the first 64 bits pick the shard, 48 more make the field, so a wrong URL or exact
    # match would need a 112-bit collision.
    # Two entries name the article: the id entry hashes the id with the content (canonical URL and exact
    # key), so only the same article again finds it and gets its first decision replayed; the name entry
    # hashes the id alone, so the id reused for other content is found there and refused (id_conflict):
    # an id never carries content the index has not checked. Both sit in the shard of the name, so the
    # script reads (and writes) them with one command.
    name = article_id.encode("utf-8", "surrogatepass")
    digests = (
        xxhash.xxh3_128_digest(name + b"\0" + bytes.fromhex(fp.url_key + fp.identity_key)),
        bytes.fromhex(fp.url_key),
        bytes.fromhex(fp.exact_key),
        xxhash.xxh3_128_digest(name),
    )
    shift = 64 - shard_bits
    shards = [int.from_bytes(d[:8], "big") >> shift for d in digests]
    shards[0] = shards[3]
    keys = struct.pack(">IIII", *shards) + b"".join(d[8:14] for d in digests)
    return [
        article_id.replace("\0", ""),
        url.replace("\0", ""),
        fp.shingle_count,
        fp.compact_signature() + fp.compact_lead(),
        keys,
        b"",
        title_sketch(title),
    ]


def script_args(
    config: IndexConfig,
    items: Sequence[IndexItem],
    epoch: str,
    now: float | None = None,
) -> list[str | bytes | int | float]:
    """The ARGV of ``decide.lua`` for a batch of (fingerprint, article id, url[, title]), decided in order."""
    now = time.time() if now is None else now
    rule = config.rule
    args: list[str | bytes | int | float] = [
        config.prefix,
        generation_of(config, now),
        config.generations,
        epoch,
        rule.jaccard_threshold,
        rule.containment_threshold,
        rule.min_containment_shingles,
        config.max_candidates,
        rule.lead_threshold,
        rule.lead_containment_threshold,
        config.params.num_perm,
        encode_time(now),
        rule.same_host_title_threshold,
        len(items),
    ]
    shard_bits = config.shard_bits  # computed: once per call
    first = len(args)
    for item in items:
        title = item[3] if len(item) > 3 else ""
        args.extend(_args_but_bands(item[0], item[1], item[2], shard_bits, title))
    numbered, groups = batch_bands([item[0].band_hashes for item in items], config.table_keys)
    for k, packed in enumerate(numbered):
        args[first + 7 * k + _BANDS_ARG] = packed
    args.extend(groups)
    return args


def batch_bands(
    band_hashes: Sequence[Sequence[int]], table_keys: int
) -> tuple[list[bytes], list[int | bytes]]:
    """The batch's band buckets, each named once, as ``decide.lua`` reads them (pure).

    Returns each article's bands packed as :func:`packed_bands` packs them, but with the bucket number
    replaced by the bucket's position (from 1) in the batch's distinct buckets, and the arguments that
    list those buckets: the number of band hashes they sit in, then per hash its number and its fields
    (2 bytes each, big-endian) packed in one string. The script then reads them with one ``HMGET`` per
    hash and no work per band of its own. The whole batch is one array: numpy's cost is per call, and
    per article it was a tenth of the worker's time.
    """
    counts = [len(hashes) for hashes in band_hashes]
    values = np.fromiter(itertools.chain.from_iterable(band_hashes), dtype=np.uint64, count=sum(counts))
    packed = _packed_band_array(values, table_keys)
    distinct, inverse = np.unique(packed["key"], return_inverse=True)  # sorted: a hash's buckets are a run
    packed["key"] = inverse.reshape(-1) + 1
    whole = packed.tobytes()
    numbered, start = [], 0
    for count in counts:
        numbered.append(whole[start : start + 8 * count])
        start += 8 * count
    hashes = distinct >> np.uint32(16)
    groups: list[int | bytes] = []
    for run in np.split(distinct, np.flatnonzero(np.diff(hashes)) + 1) if len(distinct) else []:
        groups += [int(run[0]) >> 16, (run & np.uint32(0xFFFF)).astype(">u2").tobytes()]
    return numbered, [len(groups) // 2, *groups]


def sweep_shards_per_call(config: IndexConfig, interval_seconds: float) -> int:
    """Shards one sweep call takes so that a whole pass takes about a quarter of a generation.

    At least 16 (a small index is swept quickly anyway), at most 2,048 (one call then blocks Redis
    for a few milliseconds at most).
    """
    shards = 1 << config.shard_bits
    calls_per_pass = max(1.0, config.generation_seconds / 4 / interval_seconds)
    return max(16, min(2048, math.ceil(shards / calls_per_pass)))


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep call did."""

    shards: int
    entries_removed: int
    record_blocks_deleted: int
    cursor: int
    pass_completed: bool


def decode_batch(reply: list[Any]) -> list[IndexVerdict]:
    """The verdicts of one script call, in order; raises :class:`IndexReset` if the epoch changed."""
    if len(reply) == 2 and reply[0] == b"epoch_mismatch":
        epoch = reply[1].decode("utf-8", "replace")
        raise IndexReset(f"index epoch is now {epoch!r}: Redis lost the index since this worker started")
    return [decode_reply(item) for item in reply]


def decode_reply(reply: bytes) -> IndexVerdict:
    """The :class:`IndexVerdict` in the script's reply for one article (its parts joined by NUL bytes)."""
    items = reply.decode("utf-8", "replace").split("\0")
    status = items[0]
    if status == "id_conflict":
        # The id names another article (by its number); nothing was written.
        return IndexVerdict(status="id_conflict", sequence=int(items[1]), replayed=False)
    if status == "replay_lost":
        # The article was decided before but its record expired: treat as a fresh unique decision.
        return IndexVerdict(status="unique", sequence=int(items[1]), replayed=True)
    sequence, replayed = int(items[1]), items[2] == "1"
    if status == "unique":
        return IndexVerdict(
            status="unique", sequence=sequence, replayed=replayed, decided_at=decode_time(items[3])
        )
    return IndexVerdict(
        status="duplicate",
        sequence=sequence,
        replayed=replayed,
        match=items[3],
        measure=items[4],
        similarity=float(items[5]),
        threshold=float(items[6]),
        duplicate_of=items[7],
        duplicate_of_url=items[8],
        decided_at=decode_time(items[9]),
    )


class Index(Protocol):
    """What the engine and the worker use of an index. Two implementations decide the same:
    :class:`RedisIndex` (shared by every worker, atomic in ``lua/decide.lua``) and
    :class:`streams.memory_index.MemoryIndex` (one process; the decision in plain Python, its reference).
    """

    config: IndexConfig

    async def open(self) -> str:
        """Make the index ready; returns its epoch."""
        ...

    async def decide(self, fp: Fingerprint, article_id: str, url: str) -> IndexVerdict:
        """Decide one article."""
        ...

    async def decide_many(self, items: Sequence[IndexItem], now: float | None = None) -> list[IndexVerdict]:
        """Decide articles in order, at ``now`` (Unix time, default the clock)."""
        ...

    async def decide_and_count(
        self,
        items: Sequence[IndexItem],
        chrome: Sequence[PageBlocks] = (),
        chrome_config: ChromeConfig | None = None,
        now: float | None = None,
    ) -> tuple[list[IndexVerdict], list[bytes]]:
        """Decide articles in order and count the pages' blocks as site chrome."""
        ...

    async def sweep(
        self, shards: int, now: float | None = None, max_record_blocks: int = 1024
    ) -> SweepResult:
        """Reclaim what has left the retention window (changes no decision)."""
        ...

    async def size(self) -> int:
        """Articles numbered so far."""
        ...

    async def band_evictions(self) -> int:
        """Band entries overwritten while their article was in the window."""
        ...

    async def drop(self) -> int:
        """Delete the whole index."""
        ...

    async def close(self) -> None:
        """Release the connection, if any."""
        ...


class _Refused(Exception):
    """Carries an AuthenticationError past redis-py's retry loop (not one of the errors it retries)."""

    def __init__(self, error: RedisAuthenticationError) -> None:
        super().__init__(str(error))
        self.error = error


class Retry(AsyncRetry):
    """redis-py's asyncio ``Retry`` (the synchronous one warns on an asyncio client), except for a refused
    password: redis-py counts it as a connection error and would retry it with backoff, for nothing."""

    async def call_with_retry(
        self, do: Callable[[], Awaitable[T]], fail: Any, *args: Any, **kwargs: Any
    ) -> T:
        async def attempt() -> T:
            try:
                return await do()
            except RedisAuthenticationError as exc:
                raise _Refused(exc) from exc

        try:
            return await super().call_with_retry(attempt, fail, *args, **kwargs)
        except _Refused as refused:
            raise refused.error from None


def _load_script(name: str) -> str:
    return resources.files("streams").joinpath(f"lua/{name}.lua").read_text(encoding="utf-8")


class RedisIndex:
    """The LSH index in Redis, used through :meth:`decide_many` (one round trip per batch)."""

    def __init__(self, client: aioredis.Redis, config: IndexConfig) -> None:
        self.client = client
        self.config = config
        self.epoch = ""
        self._script = client.register_script(_load_script("decide"))
        self._chrome = client.register_script(_load_script("chrome"))
        self._sweep = client.register_script(_load_script("sweep"))

    @classmethod
    def from_url(
        cls, url: str, config: IndexConfig, *, retries: int = 8, backoff_cap: float = 10.0
    ) -> RedisIndex:
        """Connect with retries on connection errors and timeouts (exponential backoff with jitter)."""
        client = aioredis.Redis.from_url(
            url,
            retry=Retry(ExponentialWithJitterBackoff(cap=backoff_cap, base=0.05), retries),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
        return cls(client, config)

    async def open(self) -> str:
        """Create the index epoch if this is a new index, and remember it. Returns the epoch."""
        key = f"{self.config.prefix}:meta"
        try:
            await self.client.hsetnx(key, "epoch", secrets.token_hex(8))
            value = await self.client.hget(key, "epoch")
            # Loaded now: the chrome call runs after the decisions in a pipeline, where a missing script
            # would fail the batch after its decisions were made (they would then be replayed).
            await self.client.script_load(self._chrome.script)
        except RedisAuthenticationError as exc:  # a ConnectionError for redis-py, but no retry will help
            raise IndexAuthFailed(f"Redis refused the credentials: {exc}") from exc
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise IndexUnavailable(f"Redis unavailable: {exc}") from exc
        except RedisOutOfMemoryError as exc:  # maxmemory with noeviction: wait for room, like an outage
            raise IndexUnavailable(f"Redis is full (maxmemory): {exc}") from exc
        self.epoch = value.decode() if isinstance(value, bytes) else str(value)
        return self.epoch

    async def decide(self, fp: Fingerprint, article_id: str, url: str) -> IndexVerdict:
        """Query the index for the article and insert it if it is new, atomically."""
        return (await self.decide_many([(fp, article_id, url)]))[0]

    async def decide_many(self, items: Sequence[IndexItem], now: float | None = None) -> list[IndexVerdict]:
        """Decide several articles in order in one pipeline: one round trip, one atomic script call for
        each :data:`SCRIPT_BATCH_ARTICLES` of them.

        ``now`` (Unix time, default the clock) places the decisions in a generation.
        """
        verdicts, _ = await self.decide_and_count(items, now=now)
        return verdicts

    @property
    def chrome_prefix(self) -> str:
        """Where the site-chrome counts live: in the index's namespace (and cluster slot)."""
        return f"{self.config.prefix}:c:"

    async def decide_and_count(
        self,
        items: Sequence[IndexItem],
        chrome: Sequence[PageBlocks] = (),
        chrome_config: ChromeConfig | None = None,
        now: float | None = None,
    ) -> tuple[list[IndexVerdict], list[bytes]]:
        """:meth:`decide_many`, and the pages' blocks counted as site chrome (``lua/chrome.lua``) in the
        same pipeline: still one round trip. Returns the verdicts and, per page of ``chrome``, the hashes
        of its blocks that are chrome now.
        """
        now = time.time() if now is None else now
        calls: list[tuple[str, list[str | bytes | int | float]]] = [
            (
                self._script.sha,
                script_args(self.config, items[start : start + SCRIPT_BATCH_ARTICLES], self.epoch, now),
            )
            for start in range(0, len(items), SCRIPT_BATCH_ARTICLES)
        ]
        if chrome and chrome_config is not None and chrome_config.enabled:
            calls.append((self._chrome.sha, list(chrome_args(self.chrome_prefix, chrome_config, chrome))))
        try:
            try:
                replies = await self._run_decide(calls)
            except NoScriptError:
                # Redis restarted or its scripts were flushed; nothing ran (the first call already failed).
                await self.client.script_load(self._script.script)
                await self.client.script_load(self._chrome.script)
                replies = await self._run_decide(calls)
        except RedisAuthenticationError as exc:
            raise IndexAuthFailed(f"Redis refused the credentials: {exc}") from exc
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise IndexUnavailable(f"Redis unavailable: {exc}") from exc
        except RedisOutOfMemoryError as exc:
            # A full Redis (maxmemory, noeviction) refuses the scripts: the batch waits and retries rather
            # than crash the agent. Scripts that ran before the refused one replay their decision.
            raise IndexUnavailable(f"Redis is full (maxmemory): {exc}") from exc
        n_decide = len(calls) - (1 if len(calls) and calls[-1][0] == self._chrome.sha else 0)
        verdicts = [verdict for reply in replies[:n_decide] for verdict in decode_batch(reply)]
        return verdicts, (list(replies[n_decide]) if n_decide < len(replies) else [])

    async def _run_decide(self, calls: list[tuple[str, list[str | bytes | int | float]]]) -> list[Any]:
        # EVALSHA straight into the pipeline: redis-py's Script objects make a pipeline send SCRIPT EXISTS
        # first, a second round trip for every batch.
        async with self.client.pipeline(transaction=False) as pipe:
            for sha, args in calls:
                pipe.evalsha(sha, 0, *args)
            replies: list[Any] = await pipe.execute()
            return replies

    async def sweep(
        self, shards: int, now: float | None = None, max_record_blocks: int = 1024
    ) -> SweepResult:
        """Remove entries and records that have left the retention window from the next ``shards``."""
        now = time.time() if now is None else now
        args: list[str | int] = [
            self.config.prefix,
            generation_of(self.config, now),
            self.config.generations,
            shards,
            1 << self.config.shard_bits,
            max_record_blocks,
        ]
        try:
            reply = await self._sweep(keys=[], args=args)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise IndexUnavailable(f"Redis unavailable: {exc}") from exc
        except RedisOutOfMemoryError as exc:  # (the script is flagged allow-oom: it only frees memory)
            raise IndexUnavailable(f"Redis is full (maxmemory): {exc}") from exc
        swept, removed, blocks, cursor, wrapped = (int(x) for x in reply)
        return SweepResult(swept, removed, blocks, cursor, wrapped == 1)

    async def size(self) -> int:
        """Articles numbered so far (unique and duplicate) in this index."""
        value = await self.client.get(f"{self.config.prefix}:seq")
        return int(value or 0)

    async def band_evictions(self) -> int:
        """Band entries overwritten while their article was still in the window, in this index."""
        value = await self.client.hget(f"{self.config.prefix}:meta", "evicted")
        return int(value or 0)

    async def drop(self) -> int:
        """Delete every key of this index (used by eval and tests). Returns how many were deleted."""
        deleted = 0
        async for key in self.client.scan_iter(match=f"{self.config.prefix}:*", count=1000):
            deleted += await self.client.delete(key)
        return deleted

    async def close(self) -> None:
        await self.client.aclose()
