"""The engine (streams.dedup.Deduplicator) on MemoryIndex: no server, the same decisions as with Redis
(tests/integration/test_index_equivalence.py shows the two indexes agree)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from streams.dedup import Deduplicator, index_config
from streams.memory_index import MemoryIndex
from streams.models import NO_POSITION, Decision, DuplicateArticle, Rejection, UniqueArticle
from streams.settings import Settings
from streams.tools import synthetic
from tests.conftest import make_settings
from tests.unit.test_hard_cases import EDITED, SAME_EVENT, UNRELATED, WIRE


def payload(url: str, text: str, **fields: Any) -> bytes:
    return json.dumps({"url": url, "text": text, **fields}).encode()


def run(
    batches: Sequence[Sequence[bytes]], settings: Settings | None = None, pipelined: bool = False
) -> tuple[list[list[Decision]], Deduplicator]:
    settings = settings or make_settings(None, "redis://unused")
    engine = Deduplicator(settings, MemoryIndex(index_config(settings)))

    async def go() -> list[list[Decision]]:
        wrapped = [[(p, NO_POSITION) for p in batch] for batch in batches]
        try:
            if pipelined:
                return [decided async for decided in engine.decide_batches(wrapped)]
            return [await engine.decide_many(batch) for batch in wrapped]
        finally:
            engine.close()

    return asyncio.run(go()), engine


def test_one_decision_per_message_in_order() -> None:
    messages = [
        payload("https://a.example/1", WIRE, id="wire"),
        b"{not json",
        payload("https://b.example/2", WIRE + "\n\nShare this story.", id="copy"),  # same words: exact
        payload("https://c.example/3", EDITED, id="edited"),
        payload("https://a.example/1?utm_source=x", UNRELATED, id="same-page"),  # same canonical URL
        payload("https://d.example/4", SAME_EVENT, id="other"),
        payload("https://e.example/5", "Too short.", id="short"),
    ]
    [decisions], _ = run([messages])
    assert [d.status for d in decisions] == [
        "unique",
        "rejected",
        "duplicate",
        "duplicate",
        "duplicate",
        "unique",
        "rejected",
    ]
    assert isinstance(decisions[1], Rejection) and decisions[1].error == "invalid_json"
    assert isinstance(decisions[6], Rejection) and decisions[6].error == "empty_text"
    copy, edited, same_page = decisions[2], decisions[3], decisions[4]
    assert isinstance(copy, DuplicateArticle) and (copy.match, copy.duplicate_of) == ("exact", "wire")
    assert isinstance(edited, DuplicateArticle) and (edited.match, edited.duplicate_of) == ("near", "wire")
    assert isinstance(same_page, DuplicateArticle) and same_page.match == "url"
    assert same_page.duplicate_of_url == "https://a.example/1"


def test_redelivered_messages_get_their_first_decision_again() -> None:
    first = [payload("https://a.example/1", WIRE, id="a"), payload("https://c.example/3", EDITED, id="c")]
    (decided, again), engine = run([first, first])
    assert [d.to_dict() for d in again] == [d.to_dict() for d in decided]  # processed_at included
    assert engine.replayed == 2


def test_an_id_reused_for_other_content_is_rejected_with_its_bytes() -> None:
    reused = payload("https://z.example/9", SAME_EVENT, id="a")
    [decisions], _ = run([[payload("https://a.example/1", WIRE, id="a"), reused]])
    conflict = decisions[1]
    assert isinstance(conflict, Rejection) and (conflict.error, conflict.raw) == ("id_conflict", reused)


def test_pipelined_batches_decide_as_batch_by_batch() -> None:
    lines = [
        json.dumps(a).encode()
        for a in synthetic.generate_stream(60, duplicate_share=0.4, seed=3, words=(80, 160))
        if not a.get("html")
    ]
    batches = [lines[i : i + 7] for i in range(0, len(lines), 7)]
    one_by_one, _ = run(batches)
    pipelined, _ = run(batches, pipelined=True)
    strip = [[{k: v for k, v in d.to_dict().items() if k != "processed_at"} for d in b] for b in one_by_one]
    assert strip == [
        [{k: v for k, v in d.to_dict().items() if k != "processed_at"} for d in b] for b in pipelined
    ]
    assert sum(d.status == "duplicate" for b in one_by_one for d in b) > 10


def test_site_chrome_is_learned_without_redis() -> None:
    """Pages of one template: after min_pages of them the shared blocks are known chrome, and the
    stories, all different, stay unique."""
    pages = [
        json.dumps(page).encode()
        for page in synthetic.same_template_stream(2, sites=1, stories_per_site=12)
        if page.get("text")
    ]
    settings = make_settings(None, "redis://unused", chrome_min_pages=3)
    decided, engine = run([pages[i : i + 2] for i in range(0, len(pages), 2)], settings)
    assert all(isinstance(d, UniqueArticle) for batch in decided for d in batch)
    assert engine.chrome.hosts() == 1 and engine.chrome.blocks() >= 10


def test_a_page_redelivered_after_its_sites_chrome_was_learned_gets_its_first_decision() -> None:
    """What a worker strips as chrome changes as it learns (and after a restart): a redelivered page is
    still the same article, so its first decision is replayed, never refused as an id conflict."""
    pages = [
        json.dumps(page).encode()
        for page in synthetic.same_template_stream(2, sites=1, stories_per_site=12)
        if page.get("text")
    ]
    settings = make_settings(None, "redis://unused", chrome_min_pages=3)
    first, *rest = [pages[i : i + 2] for i in range(0, len(pages), 2)]
    decided, engine = run([first, *rest, first], settings)
    assert engine.chrome.blocks() >= 10  # the template was learned between the two deliveries
    assert [d.to_dict() for d in decided[-1]] == [d.to_dict() for d in decided[0]]


def test_what_is_cleaned_inline_and_what_in_the_time_boxed_process() -> None:
    """Short texts, long texts of nearly only ASCII and small pages are cleaned inline; a long text dense
    beyond ASCII (where cleaning costs up to 13 us a character), a very long text and a big page go to
    the extraction process. The limits are inclusive."""
    from streams.dedup import (
        INLINE_HTML_CHARS,
        INLINE_LONG_TEXT_CHARS,
        INLINE_NON_ASCII_BYTES,
        INLINE_TEXT_CHARS,
        cleans_inline,
    )

    assert cleans_inline("\ufdfaÃ©\n" * (INLINE_TEXT_CHARS // 4), None)
    assert not cleans_inline("\ufdfaÃ©\n" * (INLINE_TEXT_CHARS // 4 + 1), None)
    assert cleans_inline("a" * INLINE_LONG_TEXT_CHARS, None)
    assert not cleans_inline("a" * (INLINE_LONG_TEXT_CHARS + 1), None)
    spare = "£" * INLINE_NON_ASCII_BYTES  # two UTF-8 bytes each: one beyond its character
    assert cleans_inline(spare + "a" * (INLINE_LONG_TEXT_CHARS - len(spare)), None)
    assert not cleans_inline(spare + "£" + "a" * (INLINE_LONG_TEXT_CHARS - len(spare) - 1), None)
    assert cleans_inline(None, "<p>x</p>" * (INLINE_HTML_CHARS // 8))
    assert not cleans_inline(None, "<p>x</p>" * (INLINE_HTML_CHARS // 8) + "x")
    assert cleans_inline("  ", "<p>x</p>")  # blank text: the page is what gets cleaned
    assert not cleans_inline(" ", "x" * (INLINE_HTML_CHARS + 1))
    assert cleans_inline(None, None)
