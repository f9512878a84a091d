"""The engine: bytes in, one decision out. No Kafka here; the worker and the offline commands share it.

:func:`prepare` is pure (parse, clean, fingerprint); :class:`Deduplicator` adds the index call and the
time box around HTML extraction, and turns the index's verdict into the output record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from streams.chrome import (
    ChromeCache,
    ChromeConfig,
    PageBlocks,
    html_titles,
    line_hashes,
    page_blocks,
    strip_chrome,
)
from streams.cleaning import canonical_url, clean_article, html_budget_problem
from streams.fingerprint import Fingerprint, Rule, article_id_for, fingerprint, url_host
from streams.fingerprint_params import FingerprintParams
from streams.models import (
    NO_POSITION,
    Decision,
    DuplicateArticle,
    RawArticle,
    Rejection,
    SourcePosition,
    UniqueArticle,
    parse_article,
    utc_now_iso,
)
from streams.offload import OffloadProcess, PrepareSplit, available_cpus, usable_max_share
from streams.records import reduce_by_init

if TYPE_CHECKING:  # the offload process imports this module: it needs neither Redis nor the settings
    from streams.index import Index, IndexConfig, IndexVerdict
    from streams.settings import Settings

log = logging.getLogger(__name__)

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_YIELD_SECONDS = 0.01  # the longest a batch's CPU work keeps the event loop from other tasks
#: What is cleaned inline rather than in the time-boxed extraction process (whose round trip costs about
#: 1 ms, more than cleaning a usual article). Cleaning costs up to about 13 us a character when characters
#: beyond ASCII are dense (U+FDFA and mojibake on every line, on a busy machine: docs/guarantees.md), so a
#: text of at most INLINE_TEXT_CHARS keeps the event loop at most about 0.1 s. A longer text of nearly only
#: ASCII costs about 0.15-0.25 us a character in its dearest shapes (15 ms at the cap), so it is inline up to
#: INLINE_LONG_TEXT_CHARS. An HTML page of at most INLINE_HTML_CHARS takes 70 ms at worst (1,600 unclosed
#: nested <div>s; the pre-scan refuses 2,000). Measured by `benchmarks/inline_cleaning.py`.
INLINE_TEXT_CHARS = 8_192
INLINE_LONG_TEXT_CHARS = 65_536
INLINE_NON_ASCII_BYTES = 512  # UTF-8 bytes beyond one a character, in a long text cleaned inline
INLINE_HTML_CHARS = 8_192
#: A failed offload process (streams.offload) is started again at most this often.
OFFLOAD_RESTART_SECONDS = 30.0


def cleans_inline(text: str | None, html: str | None) -> bool:
    """Whether an article's text (or, without text, its HTML page) is cheap enough to clean inline."""
    if not (text and text.strip()):
        return len(html or "") <= INLINE_HTML_CHARS
    if len(text) <= INLINE_TEXT_CHARS:
        return True
    return len(text) <= INLINE_LONG_TEXT_CHARS and (
        text.isascii() or len(text.encode("utf-8", "surrogatepass")) - len(text) <= INLINE_NON_ASCII_BYTES
    )


@dataclass(frozen=True, slots=True)
class PrepareConfig:
    """What :func:`prepare` needs from the settings (picklable, for the extraction pool)."""

    max_message_bytes: int
    max_text_chars: int
    min_text_chars: int
    html_extractor: str
    params: FingerprintParams

    @classmethod
    def from_settings(cls, settings: Settings) -> PrepareConfig:
        return cls(
            max_message_bytes=settings.max_message_bytes,
            max_text_chars=settings.max_text_chars,
            min_text_chars=settings.min_text_chars,
            html_extractor=settings.html_extractor,
            params=settings.fingerprint_params(),
        )


@dataclass(frozen=True, slots=True)
class PreparedArticle:
    """A parsed, cleaned and fingerprinted article, ready for the index."""

    raw: RawArticle
    article_id: str
    canonical_url: str
    title: str
    text: str
    word_count: int
    fingerprint: Fingerprint
    timings: dict[str, float] = field(default_factory=dict)
    payload: bytes = b""  # the message as received, for a rejection by the index (id_conflict)
    position: SourcePosition = NO_POSITION
    blocks: PageBlocks | None = None  # for the site-chrome counter; None when chrome is not learned
    titles: str = ""  # every title the article gives (its own, and an HTML page's head titles): title rule
    chrome_dropped: int = 0  # characters of known chrome left out of the fingerprinted text
    extractor: str = "text"  # what produced the text (CleanText.extractor)

    __reduce__ = reduce_by_init


def prepare(
    payload: bytes,
    config: PrepareConfig,
    position: SourcePosition = NO_POSITION,
    chrome: frozenset[bytes] | None = None,
) -> PreparedArticle | Rejection:
    """Parse, clean and fingerprint one message. Never raises on bad input.

    ``chrome``, when given, are the block hashes known as chrome of the article's host
    (:mod:`streams.chrome`): they are left out of the fingerprinted text, and the article's blocks are
    kept for counting.
    """
    t0 = time.perf_counter()
    parsed = parse_article(payload, max_bytes=config.max_message_bytes, position=position)
    if isinstance(parsed, Rejection):
        return parsed
    return prepare_parsed(parsed, payload, config, position, time.perf_counter() - t0, chrome)


def prepare_parsed(
    parsed: RawArticle,
    payload: bytes,
    config: PrepareConfig,
    position: SourcePosition = NO_POSITION,
    parse_seconds: float = 0.0,
    chrome: frozenset[bytes] | None = None,
) -> PreparedArticle | Rejection:
    """Clean and fingerprint an article that passed :func:`streams.models.parse_article` (``chrome``: as in
    :func:`prepare`)."""
    t1 = time.perf_counter()
    from_text = bool(parsed.text and parsed.text.strip())  # what clean_article prefers to the HTML
    if not from_text and parsed.html:
        problem = html_budget_problem(parsed.html)
        if problem is not None:
            return Rejection(
                error="too_large",
                message=f"{problem}: too costly to parse",
                raw=payload,
                position=position,
                id=parsed.id,
            )
    cleaned = clean_article(
        title=parsed.title,
        text=parsed.text,
        html=parsed.html,
        max_chars=config.max_text_chars,
        extractor=config.html_extractor,
    )
    article_id = parsed.id or article_id_for(parsed.url)  # parse_article always sets it
    if len(cleaned.text) < config.min_text_chars:
        return Rejection(
            error="empty_text",
            message=f"cleaned text has {len(cleaned.text)} characters, fewer than {config.min_text_chars}",
            raw=payload,
            position=position,
            id=article_id,
        )
    t2 = time.perf_counter()
    blocks, dropped = None, 0
    if chrome is not None:
        hashes = line_hashes(cleaned.text)
        blocks = page_blocks(parsed.url, cleaned.text, hashes)
        fp, dropped = _fingerprint_without_chrome(cleaned.text, parsed.url, chrome, config, hashes)
    else:
        fp = fingerprint(cleaned.text, parsed.url, config.params)
    t3 = time.perf_counter()
    return PreparedArticle(
        raw=parsed,
        article_id=article_id,
        canonical_url=canonical_url(parsed.url),
        title=cleaned.title,
        text=cleaned.text,
        word_count=cleaned.word_count,
        fingerprint=fp,
        blocks=blocks,
        titles=cleaned.title
        if from_text or not parsed.html
        else " ".join([cleaned.title, *html_titles(parsed.html)]),
        chrome_dropped=dropped,
        timings={
            "parse": parse_seconds,
            "clean_text" if from_text else "clean_html": t2 - t1,
            "fingerprint": t3 - t2,
        },
        payload=payload,
        position=position,
        extractor=cleaned.extractor,
    )


def _fingerprint_without_chrome(
    text: str,
    url: str,
    chrome: frozenset[bytes],
    config: PrepareConfig,
    hashes: Sequence[bytes | None] | None = None,
    whole: Fingerprint | None = None,
) -> tuple[Fingerprint, int]:
    """The fingerprint of ``text`` without the host's chrome blocks, and how many characters that left out.

    ``whole``: the fingerprint of the whole text, when already computed. When chrome was left out, the
    fingerprint keeps the whole text's exact key (:attr:`Fingerprint.identity_key`).
    """
    fingerprinted = strip_chrome(text, chrome, config.min_text_chars, hashes)
    if len(fingerprinted) == len(text):
        return whole or fingerprint(text, url, config.params), 0
    fp = fingerprint(fingerprinted, url, config.params)
    whole_key = (whole or fingerprint(text, url, config.params)).exact_key
    return dataclasses.replace(fp, whole_text_key=whole_key), len(text) - len(fingerprinted)


def with_chrome(
    prepared: PreparedArticle, chrome: frozenset[bytes], config: PrepareConfig
) -> PreparedArticle:
    """An article prepared with no chrome known (``chrome=frozenset()``), as if prepared with ``chrome``.

    What :func:`prepare_parsed` with ``chrome`` returns, but for the timings: the offload process
    prepares articles before the worker knows the chrome of their turn in the stream.
    """
    if not chrome or prepared.blocks is None:
        return prepared
    fp, dropped = _fingerprint_without_chrome(
        prepared.text, prepared.raw.url, chrome, config, whole=prepared.fingerprint
    )
    if not dropped:
        return prepared
    return dataclasses.replace(prepared, fingerprint=fp, chrome_dropped=dropped)


def decision_time(verdict: IndexVerdict) -> str:
    """``processed_at`` of a decision: when the index first decided the article, so a replay repeats it."""
    if verdict.decided_at is None:  # a record from before decision times were kept
        return utc_now_iso()
    moment = _UNIX_EPOCH + timedelta(milliseconds=round(verdict.decided_at * 1000))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_decision(article: PreparedArticle, verdict: IndexVerdict) -> Decision:
    """The output record for an article and the index's verdict on it."""
    raw = article.raw
    if verdict.status == "id_conflict":
        return Rejection(
            error="id_conflict",
            message=(
                f"id {article.article_id[:100]!r} already names an article with another canonical URL or"
                " other words; give each article its own id"
            ),
            raw=article.payload,
            position=article.position,
            id=article.article_id,
        )
    if verdict.status == "unique":
        return UniqueArticle(
            id=article.article_id,
            url=raw.url,
            canonical_url=article.canonical_url,
            title=article.title,
            text=article.text,
            source=raw.source,
            published_at=raw.published_at,
            language=raw.language,
            word_count=article.word_count,
            extra=raw.extra,
            processed_at=decision_time(verdict),
        )
    return DuplicateArticle(
        id=article.article_id,
        url=raw.url,
        duplicate_of=verdict.duplicate_of or "",
        duplicate_of_url=verdict.duplicate_of_url or "",
        match=verdict.match or "near",  # type: ignore[arg-type]
        similarity=verdict.similarity,
        measure=verdict.measure or "jaccard",  # type: ignore[arg-type]
        threshold=verdict.threshold,
        source=raw.source,
        processed_at=decision_time(verdict),
    )


def index_config(settings: Settings, namespace: str | None = None) -> IndexConfig:
    """The index layout and decision thresholds from the settings."""
    from streams.index import IndexConfig

    return IndexConfig(
        namespace=namespace or settings.namespace,
        params=settings.fingerprint_params(),
        retention_seconds=settings.retention_seconds,
        generations=settings.index_generations,
        capacity=settings.index_capacity,
        rule=Rule(
            jaccard_threshold=settings.jaccard_threshold,
            containment_threshold=settings.containment_threshold,
            min_containment_shingles=settings.min_containment_shingles,
            lead_threshold=settings.lead_threshold,
            lead_containment_threshold=settings.lead_containment_threshold,
            same_host_title_threshold=settings.same_host_title_threshold,
        ),
        max_candidates=settings.max_candidates,
    )


def chrome_config(settings: Settings) -> ChromeConfig:
    """How site chrome is learned, from the settings."""
    return ChromeConfig(
        min_pages=settings.chrome_min_pages,
        max_blocks=settings.chrome_max_blocks,
        ttl_seconds=int(settings.chrome_ttl_days * 86400),
        cache_hosts=settings.chrome_cache_hosts,
    )


def _exit_with_parent(parent: int) -> None:
    """Run in a new extraction process: end it when the worker that started it is gone.

    A SIGKILLed worker cannot stop its pool, and the pool's process holds both ends of its own task
    pipe, so it would wait forever (about 90 MB each, measured after the crash tests).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_up_extraction() -> None:
    """Run first in a new extraction process, outside any time box: its imports and first calls."""
    clean_article(title="", text=None, html="<html><body><p>warm up</p></body></html>", max_chars=1000)


def _prepare_shared(
    items: Sequence[tuple[RawArticle, SourcePosition, float] | None],
    config: PrepareConfig,
    learn_chrome: bool,
) -> tuple[list[PreparedArticle | Rejection | None], float]:
    """Run in the offload process: prepare its share of a batch (articles that clean inline), with no
    chrome known (the worker applies the chrome of each one's turn: :func:`with_chrome`); and when it
    was done (:func:`time.monotonic`: the clock the worker shares).

    The payloads and the parsed articles stay in the worker (``b""`` and a placeholder in what is sent
    back; the HTML of an article cleaned from its text is not sent). None for an item not sent, and for
    one that raised: the worker prepares it again itself, and logs and rejects what raises there.
    """
    results: list[PreparedArticle | Rejection | None] = []
    for item in items:
        prepared = None
        if item is not None:
            parsed, position, parse_seconds = item
            with contextlib.suppress(Exception):
                chrome = frozenset[bytes]() if learn_chrome else None
                prepared = prepare_parsed(parsed, b"", config, position, parse_seconds, chrome)
                if isinstance(prepared, PreparedArticle):
                    prepared = dataclasses.replace(prepared, raw=_RAW_LEFT_IN_THE_WORKER)
        results.append(prepared)
    return results, time.monotonic()


def _what_cleaning_reads(article: RawArticle) -> RawArticle:
    """The article without its HTML when its text is what gets cleaned (a page of up to 2 MB that would
    cross the pipe for nothing)."""
    if article.html and article.text and article.text.strip():
        return dataclasses.replace(article, html=None)
    return article


#: What the offload process sends back in place of an article's ``raw`` (the worker has it).
_RAW_LEFT_IN_THE_WORKER = RawArticle(
    url="", id=None, title="", text=None, html=None, source=None, published_at=None, language=None
)


class _LoopTurns:
    """Gives the event loop a turn once the batch's CPU work has kept it for ``_YIELD_SECONDS``.

    Parsing and cleaning never wait, so the event loop would stall for the whole batch: now and then it
    gets a turn, for the previous batch's index call (its request and reply). Not after every article: in
    a worker each turn costs about as much as preparing an article (the Kafka client's thread takes the
    GIL meanwhile; measured in docs/performance.md).
    """

    def __init__(self) -> None:
        self._last = time.perf_counter()

    async def now_and_then(self) -> None:
        if time.perf_counter() - self._last >= _YIELD_SECONDS:
            await asyncio.sleep(0)
            self._last = time.perf_counter()


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A message of a batch, parsed: the article (or its rejection) and what parsing took."""

    payload: bytes
    position: SourcePosition
    parsed: RawArticle | Rejection
    seconds: float


def _internal_error(exc: Exception, payload: bytes, position: SourcePosition) -> Rejection:
    # A bug of ours on one input must not stall its partition: the input is rejected, with its bytes,
    # and the traceback goes to the log for us to fix.
    log.error("preparing a message failed", exc_info=exc, extra={"offset": position.offset})
    return Rejection(
        error="internal_error",
        message=f"{type(exc).__name__} while preparing the article: {exc}"[:300],
        raw=payload,
        position=position,
    )


class Deduplicator:
    """Decides batches of raw messages against the index, in order.

    Short texts and small HTML pages are cleaned inline (under a millisecond, 70 ms at worst). Longer
    ones go to a process pool with a time box, so a pathological page is rejected with
    ``extraction_timeout`` instead of stalling the worker; the pool is replaced when a page times out.
    """

    def __init__(self, settings: Settings, index: Index) -> None:
        self.settings = settings
        self.index = index
        self.config = PrepareConfig.from_settings(settings)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pool_ready: asyncio.Future[None] | None = None
        self.replayed = 0  # decisions replayed for articles already in the index (redelivery)
        self.chrome_config = chrome_config(settings)
        self.chrome = ChromeCache(self.chrome_config.cache_hosts, self.chrome_config.min_pages)
        self.split = PrepareSplit(usable_max_share(settings.offload_max_share, available_cpus()))
        self._offload: OffloadProcess | None = None
        self.shared = 0  # articles the offload process prepared
        self._offload_started = -math.inf

    def _html_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs an event loop and threads is unsafe.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _parse(self, payload: bytes, position: SourcePosition) -> _Parsed:
        t0 = time.perf_counter()
        try:
            parsed = parse_article(payload, max_bytes=self.config.max_message_bytes, position=position)
        except Exception as exc:
            parsed = _internal_error(exc, payload, position)
        return _Parsed(payload, position, parsed, time.perf_counter() - t0)

    async def _prepare_one(self, item: _Parsed) -> PreparedArticle | Rejection:
        parsed, payload, position, parse_seconds = item.parsed, item.payload, item.position, item.seconds
        if isinstance(parsed, Rejection):
            return parsed
        chrome = self._known_chrome(parsed)
        if cleans_inline(parsed.text, parsed.html):
            return prepare_parsed(parsed, payload, self.config, position, parse_seconds, chrome)
        loop = asyncio.get_running_loop()
        # Starting the process (seconds on a busy machine) must not count against the first page.
        self.start_extraction_process()
        if self._pool_ready is not None:
            with contextlib.suppress(Exception):  # a broken pool fails the page below, where it is handled
                await asyncio.wait_for(asyncio.shield(self._pool_ready), timeout=60)
        future = loop.run_in_executor(
            self._html_pool(), prepare_parsed, parsed, payload, self.config, position, parse_seconds, chrome
        )
        try:
            return await asyncio.wait_for(future, timeout=self.settings.extraction_timeout_seconds)
        except TimeoutError:
            self._recycle_pool()
            what = "text cleaning" if parsed.text and parsed.text.strip() else "HTML extraction"
            return Rejection(
                error="extraction_timeout",
                message=f"{what} took longer than {self.settings.extraction_timeout_seconds}s",
                raw=payload,
                position=position,
                id=parsed.id,
            )
        except concurrent.futures.process.BrokenProcessPool:
            # The extraction process died (out of memory on a bomb, say): reject rather than retry inline.
            self._recycle_pool()
            return Rejection(
                error="extraction_timeout",
                message="the extraction process died on this message",
                raw=payload,
                position=position,
                id=parsed.id,
            )

    def _recycle_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def _start_pool(self) -> None:
        self._pool_ready = asyncio.get_running_loop().run_in_executor(self._html_pool(), _warm_up_extraction)

    def start_extraction_process(self) -> None:
        """Start the extraction process in the background (a worker's first long input then finds it up)."""
        if self._pool is None:
            self._start_pool()

    async def warm_up(self) -> None:
        """Start the HTML extraction process now rather than on the first page (seconds on a busy machine),
        and the offload process (unless off), and wait for both, as a running worker has them."""
        self.start_extraction_process()
        self.start_offload_process()
        if self._pool_ready is not None:
            await self._pool_ready
        if self._offload is not None:
            with contextlib.suppress(EOFError):  # it died starting: batches are then prepared here alone
                await self._offload.started

    async def prepare_many(
        self, messages: Sequence[tuple[bytes, SourcePosition]]
    ) -> list[PreparedArticle | Rejection]:
        """Parse, clean and fingerprint each message (long inputs time-boxed), in order.

        When every input of a batch cleans inline and the offload process (:mod:`streams.offload`) is up,
        the last of them (:class:`streams.offload.PrepareSplit`) are prepared there while this process
        prepares the others. Each article still gets the chrome known at its turn in the stream
        (:func:`with_chrome`), so the result is the same as one by one here.
        """
        if len(messages) >= PrepareSplit.MIN_ARTICLES:
            self.start_offload_process()
        turns = _LoopTurns()
        items = []
        for payload, position in messages:
            items.append(self._parse(payload, position))  # a big HTML page takes 1-16 ms
            await turns.now_and_then()
        shared = self._shared_count(items)
        tail = len(items) - shared
        job = self._share(items[tail:]) if shared else None
        prepared = []
        for item in items[:tail]:
            prepared.append(await self._prepare_guarded(item))
            await turns.now_and_then()
        if job is not None:
            prepared.extend(await self._shared_results(job, items[tail:]))
        return prepared

    def _shared_count(self, items: Sequence[_Parsed]) -> int:
        """How many of the batch's last inputs the offload process prepares (0: none)."""
        if self._offload is None or not self._offload.idle:
            return 0
        articles = [i.parsed for i in items if isinstance(i.parsed, RawArticle)]
        if not all(cleans_inline(article.text, article.html) for article in articles):
            return 0  # a long input goes to the time-boxed extraction process: its batch is prepared in order
        return self.split.count(len(items))

    def _share(
        self, items: Sequence[_Parsed]
    ) -> asyncio.Future[tuple[list[PreparedArticle | Rejection | None], float]]:
        assert self._offload is not None
        sent = [
            (_what_cleaning_reads(i.parsed), i.position, i.seconds)
            if isinstance(i.parsed, RawArticle)
            else None
            for i in items
        ]
        return self._offload.submit(sent)

    def start_offload_process(self) -> None:
        """Start the process that prepares part of each batch (:mod:`streams.offload`) in the background,
        unless sharing is off (``STREAMS_OFFLOAD_MAX_SHARE=0``); one that failed is started again
        after :data:`OFFLOAD_RESTART_SECONDS`."""
        if self.split.max_share <= 0:
            return
        if self._offload is not None and self._offload.loop is not asyncio.get_running_loop():
            self._offload.close()  # started by an event loop that has ended (asyncio.run per call)
            self._offload, self._offload_started = None, -math.inf
        if self._offload is not None and self._offload.busy_seconds() > OFFLOAD_RESTART_SECONDS:
            log.warning(
                "the offload process has not answered for %.0f s: stopping it", OFFLOAD_RESTART_SECONDS
            )
            self._offload.close()
        if self._offload is not None and not self._offload.closed:
            return
        if time.monotonic() - self._offload_started < OFFLOAD_RESTART_SECONDS:
            return
        self._offload_started = time.monotonic()
        try:
            self._offload = OffloadProcess(_prepare_shared, self.config, self.chrome_config.enabled)
        except OSError as exc:  # no process or pipe to be had (memory, file descriptors): prepare here alone
            self._offload = None
            log.warning("the offload process could not start: batches are prepared in the worker (%r)", exc)

    async def _shared_results(
        self,
        job: asyncio.Future[tuple[list[PreparedArticle | Rejection | None], float]],
        items: Sequence[_Parsed],
    ) -> list[PreparedArticle | Rejection]:
        """The offload process's share, in order, with the chrome of each article's turn; what it could
        not prepare (or all of it, if it failed or exceeded its time box) is prepared here."""
        waiting_from = time.monotonic()  # the worker's own part is done
        results: Sequence[PreparedArticle | Rejection | None] = [None] * len(items)
        try:
            # Each input cleans inline (70 ms at worst), so only a broken process takes this long.
            results, sent_at = await asyncio.wait_for(
                job, self.settings.extraction_timeout_seconds + 0.1 * len(items)
            )
            if len(results) != len(items):
                raise ValueError(f"{len(results)} results for {len(items)} articles")
            self.split.answered(late=sent_at - waiting_from)
            self.shared += sum(result is not None for result in results)
        except Exception as exc:  # died, timed out, or answered what it should not: all prepared here
            results = [None] * len(items)
            log.warning("the offload process failed its share of a batch: preparing it here (%r)", exc)
            if self._offload is not None:
                self._offload.close()  # started again with the next batch
        prepared = []
        for item, result in zip(items, results, strict=True):
            if result is None:
                prepared.append(await self._prepare_guarded(item))
                continue
            try:
                prepared.append(self._adopt(result, item))
            except Exception as exc:
                prepared.append(_internal_error(exc, item.payload, item.position))
        return prepared

    def _known_chrome(self, article: RawArticle) -> frozenset[bytes] | None:
        """The chrome known now for the article's host (None when chrome is not learned); looked up at
        each article's turn, which also keeps the host's place in the cache."""
        return self.chrome.get(url_host(article.url)) if self.chrome_config.enabled else None

    def _adopt(self, result: PreparedArticle | Rejection, item: _Parsed) -> PreparedArticle | Rejection:
        """What the offload process prepared, with its payload and article, and the chrome of its turn
        (looked up, and the page counted, in stream order as :meth:`_prepare_one` does)."""
        assert isinstance(item.parsed, RawArticle)
        chrome = self._known_chrome(item.parsed)
        if isinstance(result, Rejection):
            return dataclasses.replace(result, raw=item.payload)
        article = dataclasses.replace(result, payload=item.payload, raw=item.parsed)
        blocks = article.blocks
        if blocks is not None and chrome is not None:
            article = with_chrome(article, chrome, self.config)
            self.chrome.observe(blocks)
        return article

    async def _prepare_guarded(self, item: _Parsed) -> PreparedArticle | Rejection:
        try:
            prepared = await self._prepare_one(item)
            if isinstance(prepared, PreparedArticle) and prepared.blocks is not None:
                self.chrome.observe(prepared.blocks)
            return prepared
        except Exception as exc:
            return _internal_error(exc, item.payload, item.position)

    async def decide_prepared(self, prepared: Sequence[PreparedArticle | Rejection]) -> list[Decision]:
        """Run the index for the prepared articles (one pipeline round trip) and build the decisions."""
        articles = [p for p in prepared if isinstance(p, PreparedArticle)]
        pages = [a.blocks for a in articles if a.blocks is not None]
        results: list[IndexVerdict] = []
        if articles:
            results, chrome = await self.index.decide_and_count(
                [(a.fingerprint, a.article_id, a.raw.url, a.titles) for a in articles],
                pages,
                self.chrome_config,
            )
            if chrome:
                self.chrome.update(pages, chrome)
        self.replayed += sum(v.replayed for v in results)
        verdicts = iter(results)
        return [p if isinstance(p, Rejection) else to_decision(p, next(verdicts)) for p in prepared]

    async def decide_many(self, messages: Sequence[tuple[bytes, SourcePosition]]) -> list[Decision]:
        """One decision per message, in order."""
        return await self.decide_prepared(await self.prepare_many(messages))

    async def decide_batches(
        self, batches: Iterable[Sequence[tuple[bytes, SourcePosition]]]
    ) -> AsyncIterator[list[Decision]]:
        """The decisions of each batch, in order; a batch is prepared while the previous one is in Redis.

        Redis works on its own core, so overlapping its script calls with the next batch's CPU work
        costs nothing; index calls still go one batch after the other, so the decisions are those of
        :meth:`decide_many` called batch by batch.
        """
        pending: asyncio.Future[list[Decision]] | None = None
        try:
            for batch in batches:
                prepared = await self.prepare_many(batch)
                if pending is not None:
                    yield await pending
                pending = asyncio.ensure_future(self.decide_prepared(prepared))
                await asyncio.sleep(0)  # the call goes out now, not at the next batch's first turn
            if pending is not None:
                yield await pending
                pending = None
        finally:
            if pending is not None:
                pending.cancel()

    def close(self) -> None:
        self._recycle_pool()
        if self._offload is not None:
            self._offload.close()
