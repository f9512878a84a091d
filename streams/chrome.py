"""Site chrome learned from the stream: text blocks that recur across many pages of one host.

A page's cleaned text is cut into blocks (its non-empty lines: paragraphs, headlines, list items). Each
block is normalised (its letters, case-folded) and hashed (8 bytes); only hashes are stored. Per host,
Redis counts on how many distinct pages each block was seen (``lua/chrome.lua``); a block seen on at
least ``min_pages`` of them is chrome, and is left out of the text that is fingerprinted. The published
article's text is not changed.

The counting travels in the same pipeline as the index's decision (no extra round trip), and its answer
(which of the batch's blocks are chrome now) fills a worker-local cache that the next batches' pages are
stripped with. That answer comes a batch or two late (a batch is prepared while the previous one is in
Redis), so the cache also counts the worker's own last :data:`LOCAL_WINDOW` pages the same way: a block
on ``min_pages`` of them is chrome for the very next page, before Redis has answered.

Distinct pages: a page is its tag, 4 bytes of a hash of its whole cleaned text, and a block keeps the
tags of up to ``min_pages`` pages, so a redelivered page, or the same text under another URL, is not
counted twice. Chrome is per host: a wire story re-published on many hosts is one page of each of them.

Memory per host is bounded: at most ``max_blocks`` blocks (and the few of one page) in one hash, each
an 8-byte field and a value of ``1 + 4 * min_pages`` bytes; past that the hash is pruned (blocks seen on
fewer pages go, and chrome not seen since the previous prune), and a host not seen for ``ttl_seconds``
is forgotten. What that costs is measured in docs/performance.md ("Site chrome counts").
"""

from __future__ import annotations

import html as html_lib
import itertools
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import xxhash

from streams.fingerprint import url_host
from streams.records import reduce_by_init

#: Blocks of one page counted at most (the first ones, distinct): a page of thousands of lines costs no more.
MAX_BLOCKS_PER_PAGE = 256
#: The worker's own latest pages counted locally, to bridge the batches until Redis's answer arrives
#: (a few batches of STREAMS_BATCH_MAX_ARTICLES; at most 256 blocks each, so at most 131,072 entries).
LOCAL_WINDOW = 512


@dataclass(frozen=True, slots=True)
class ChromeConfig:
    """How chrome is learned. ``min_pages`` 0 turns it off."""

    min_pages: int
    max_blocks: int
    ttl_seconds: int
    cache_hosts: int

    @property
    def enabled(self) -> bool:
        return self.min_pages > 0


@dataclass(frozen=True, slots=True)
class PageBlocks:
    """What the chrome counter needs from one page: its host, its tag and its distinct block hashes."""

    host: str
    tag: bytes
    blocks: bytes  # 8 bytes a block

    __reduce__ = reduce_by_init


# A block's normal form: its letters, case-folded, and its spaces (the cleaned text has single spaces
# already, and one line leaves the same spaces wherever its digits and punctuation were dropped). For text
# without letters outside ASCII, one byte translation of the whole text (A-Z lowered; a-z, spaces and line
# breaks kept; every other byte, the UTF-8 bytes of curly quotes and dashes too, deleted), then a split
# into lines: no per-word work, which cost several times more. Text with other letters: one substitution
# deleting every character that is not a letter or white space, which gives the same on the rest.
_BLOCK_TABLE = bytes(c + 32 if 65 <= c <= 90 else 32 if c in (9, 11, 12, 13) else c for c in range(256))
_BLOCK_DELETE = bytes(
    c for c in range(256) if not (65 <= c <= 90 or 97 <= c <= 122 or c in (9, 10, 11, 12, 13, 32))
)
_NOT_A_LETTER = re.compile(r"[^\w\s]|[\d_]")
_LETTER = re.compile(r"[^\W\d_]")
_ASCII = bytes(range(128))


def line_hashes(text: str) -> list[bytes | None]:
    """The 8-byte hash of each line's normal form (its letters, lower case), aligned with
    ``text.split("\\n")``; None for a line without letters. Case, digits and punctuation do not change a
    hash (a date or a count in a footer); words do."""
    hash64 = xxhash.xxh3_64_digest
    raw = text.encode("utf-8", "surrogatepass")
    if text.isascii() or not _LETTER.search(raw.translate(None, _ASCII).decode("utf-8", "surrogatepass")):
        normal = raw.translate(_BLOCK_TABLE, _BLOCK_DELETE)
    else:
        normal = _NOT_A_LETTER.sub("", text.casefold()).encode("utf-8", "surrogatepass")
    return [hash64(line.strip()) if line.strip() else None for line in normal.split(b"\n")]


def block_hash(block: str) -> bytes | None:
    """The hash of one block (a line) as :func:`line_hashes` computes it."""
    return line_hashes(block.replace("\n", " "))[0]


def page_blocks(url: str, text: str, hashes: Sequence[bytes | None] | None = None) -> PageBlocks:
    """The host, the page tag and the distinct block hashes of a cleaned text (first ones first).

    ``hashes``: the text's :func:`line_hashes`, when already computed.
    """
    distinct = dict.fromkeys(h for h in (line_hashes(text) if hashes is None else hashes) if h is not None)
    blocks = b"".join(itertools.islice(distinct, MAX_BLOCKS_PER_PAGE))
    tag = xxhash.xxh3_64_digest(text.encode("utf-8", "surrogatepass"))[:4]
    return PageBlocks(host=url_host(url), tag=tag, blocks=blocks)


_HEAD_TITLES = re.compile(
    r"<title[^>]*>(?P<title>[^<]{1,500})</title>"
    r"|<meta\s[^>]*?(?:property|name)=[\"'](?:og:title|twitter:title)[\"'][^>]*?content=[\"'](?P<meta>[^\"'<>]{1,500})",
    re.IGNORECASE,
)


def html_titles(html: str) -> list[str]:
    """The titles a page names in its head (``<title>``, ``og:title``, ``twitter:title``), entities decoded.

    The extractor's title is the page's first ``<h1>``, which on many real pages is the site's logo; the
    same-host title rule compares every title a page gives (:func:`streams.fingerprint.title_sketch` of
    them all), so the story's own headline is among them.
    """
    head = html[:100_000]
    return [
        html_lib.unescape(m.group("title") or m.group("meta") or "") for m in _HEAD_TITLES.finditer(head)
    ][:4]


def strip_chrome(
    text: str,
    chrome: frozenset[bytes] | set[bytes],
    min_chars: int,
    hashes: Sequence[bytes | None] | None = None,
) -> str:
    """The text without its chrome blocks; the whole text when too little (under ``min_chars``) is left.

    A page that is all chrome (an extraction that missed the story) keeps its text: it is then as it was
    before chrome was learned, and the same-host title rule still guards it. ``hashes``: as in
    :func:`page_blocks`.
    """
    if not chrome:
        return text
    lines = text.split("\n")
    hashes = line_hashes(text) if hashes is None else hashes
    if chrome.isdisjoint(hashes):
        return text
    kept = [line for line, h in zip(lines, hashes, strict=True) if h is None or h not in chrome]
    stripped = "\n".join(kept).strip("\n")
    return stripped if len(stripped) >= min_chars else text


def chrome_args(prefix: str, config: ChromeConfig, pages: Sequence[PageBlocks]) -> list[str | bytes | int]:
    """The ARGV of ``lua/chrome.lua`` for the pages of a batch, counted in order."""
    args: list[str | bytes | int] = [
        prefix,
        config.min_pages,
        config.max_blocks,
        config.ttl_seconds,
        len(pages),
    ]
    for page in pages:
        args.extend((page.host, page.tag, page.blocks))
    return args


def split_hashes(packed: bytes) -> set[bytes]:
    """8-byte hashes, concatenated, as a set."""
    return {packed[i : i + 8] for i in range(0, len(packed), 8)}


class ChromeCache:
    """The chrome known to this process, per host (the most recently used ``max_hosts`` hosts).

    Filled from the counter's replies: for each page counted, its blocks that are chrome now join the
    host's set, and its other blocks leave it (chrome that was pruned or expired in Redis). Until a reply
    arrives, :meth:`observe` counts this worker's latest pages the way Redis does (distinct page tags per
    host and block), so chrome is known from the page after its ``min_pages``-th.
    """

    def __init__(self, max_hosts: int, min_pages: int = 0, window: int = LOCAL_WINDOW) -> None:
        self.max_hosts = max_hosts
        self.min_pages = min_pages
        self._hosts: OrderedDict[str, frozenset[bytes]] = OrderedDict()
        self._recent: deque[PageBlocks] = deque()
        self._window = window
        self._tags: dict[tuple[str, bytes], dict[bytes, int]] = {}  # (host, block) -> page tags in the window
        self._local: dict[str, set[bytes]] = {}  # host -> blocks on min_pages pages of the window

    def get(self, host: str) -> frozenset[bytes]:
        known = self._hosts.get(host)
        local = self._local.get(host)
        if known is not None:
            self._hosts.move_to_end(host)
        if local:
            return frozenset(local) | known if known else frozenset(local)
        return known or frozenset()

    def observe(self, page: PageBlocks) -> None:
        """Count a page just prepared (in stream order) in the local window."""
        if self.min_pages <= 0:
            return
        self._recent.append(page)
        self._count(page, 1)
        if len(self._recent) > self._window:
            self._count(self._recent.popleft(), -1)

    def _count(self, page: PageBlocks, step: int) -> None:
        host, tag, blocks, all_tags = page.host, page.tag, page.blocks, self._tags
        local = self._local.setdefault(host, set())
        for i in range(0, len(blocks), 8):
            block = blocks[i : i + 8]
            key = (host, block)
            tags = all_tags.get(key)
            if tags is None:
                tags = all_tags[key] = {}
            seen = tags.get(tag, 0) + step
            if seen > 0:
                tags[tag] = seen
            else:
                del tags[tag]
            if len(tags) >= self.min_pages:
                local.add(block)
            else:
                local.discard(block)
                if not tags:
                    del all_tags[key]
        if not local:
            del self._local[page.host]

    def update(self, pages: Iterable[PageBlocks], replies: Iterable[bytes]) -> None:
        for page, reply in zip(pages, replies, strict=True):
            chrome = split_hashes(reply)
            known = self._hosts.get(page.host, frozenset())
            updated = (known - split_hashes(page.blocks)) | chrome
            if updated or page.host in self._hosts:
                self._hosts[page.host] = frozenset(updated)
                self._hosts.move_to_end(page.host)
        while len(self._hosts) > self.max_hosts:
            self._hosts.popitem(last=False)

    def hosts(self) -> int:
        return len(self._hosts)

    def blocks(self) -> int:
        return sum(len(v) for v in self._hosts.values())
