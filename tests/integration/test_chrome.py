"""Site chrome against a real Redis: learned per host, counted once per page, bounded, never a false link."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
import redis

from streams.chrome import PageBlocks, block_hash, page_blocks
from streams.dedup import Deduplicator, chrome_config, index_config
from streams.index import RedisIndex
from streams.models import Decision, SourcePosition
from streams.settings import Settings
from streams.tools.synthetic import (
    generate_story,
    make_site_template,
    render_template_page,
    same_template_stream,
    template_page_text,
)
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def decide_stream(settings: Settings, records: list[dict[str, Any]], batch: int = 8) -> list[Decision]:
    """Every record through the real engine (clean, chrome, fingerprint, index), in batches."""

    async def go() -> list[Decision]:
        index = RedisIndex.from_url(settings.redis_url.get_secret_value(), index_config(settings))
        await index.open()
        engine = Deduplicator(settings, index)
        payloads = [json.dumps(r).encode() for r in records]
        batches = [
            [
                (p, SourcePosition(None, None, start + i))
                for i, p in enumerate(payloads[start : start + batch])
            ]
            for start in range(0, len(payloads), batch)
        ]
        try:
            return [d async for decided in engine.decide_batches(batches) for d in decided]
        finally:
            engine.close()
            await index.close()

    return asyncio.run(go())


@pytest.mark.parametrize("title_threshold", [0.75, 0.0])
def test_same_template_pages_of_different_stories_are_never_linked(redis_url: str, title_threshold: float):
    """0 false links among pages of different stories on one site's template: with the same-host title
    rule, and with chrome learning alone (the title rule turned off) once the first pages have taught it."""
    settings = make_settings(None, redis_url, same_host_title_threshold=title_threshold)
    records = same_template_stream(11, sites=3, stories_per_site=16)
    decisions = decide_stream(settings, records)
    linked = [
        (r["url"], d.duplicate_of_url)
        for r, d in zip(records, decisions, strict=True)
        if d.status == "duplicate"
    ]
    if title_threshold:
        assert linked == []
    else:
        # Chrome alone: once min_pages pages of each of the three sites were seen, no page is linked (the
        # first pages of a site, before its chrome is known, are the title rule's job).
        learned_from = 3 * settings.chrome_min_pages
        late = [d for d in decisions[learned_from:] if d.status == "duplicate"]
        assert len(decisions) - learned_from > 30
        assert late == []
    assert all(d.status == "unique" for d in decisions if d.status != "duplicate")


def test_html_and_text_of_one_story_on_a_template_site_are_still_found(redis_url: str):
    """The same story sent as its page HTML and as its plain text (another URL) is a duplicate, before and
    after the site's chrome is learned; different stories around it stay unique."""
    settings = make_settings(None, redis_url)
    rng = random.Random(5)
    template = make_site_template(rng)
    records: list[dict[str, Any]] = []
    for k in range(10):
        story = generate_story(rng, (150, 400))
        url = f"https://{template.site}/news/story-{k}"
        page = render_template_page(template, story, url, "2026-03-02T06:00:00Z")
        records.append({"id": f"h{k}", "url": url, "title": story.title, "html": page})
        records.append({"id": f"t{k}", "url": url + "/text", "title": story.title, "text": story.text})
    decisions = decide_stream(settings, records)
    for k in range(10):
        html_decision, text_decision = decisions[2 * k], decisions[2 * k + 1]
        assert html_decision.status == "unique", k
        assert text_decision.status == "duplicate" and text_decision.duplicate_of == f"h{k}", k


def test_a_wire_story_on_many_hosts_is_not_chrome(redis_url: str):
    """A story re-published on many hosts is one page of each: never chrome, and every copy is found."""
    settings = make_settings(None, redis_url)
    rng = random.Random(9)
    wire = generate_story(rng, (250, 400))
    records = [
        {"id": f"w{k}", "url": f"https://site{k}.example/wire/story", "title": wire.title, "text": wire.text}
        for k in range(12)
    ]
    decisions = decide_stream(settings, records, batch=2)
    assert [d.status for d in decisions] == ["unique"] + ["duplicate"] * 11
    client = redis.Redis.from_url(redis_url)
    prefix = index_config(settings).prefix + ":c:"
    chrome_blocks = [
        field
        for key in client.scan_iter(match=prefix + "*")
        for field, value in client.hgetall(key).items()
        if field and len(value) >= 1 + 4 * settings.chrome_min_pages
    ]
    assert chrome_blocks == []


def count(settings: Settings, pages: list[PageBlocks]) -> list[bytes]:
    """The chrome counter alone (no article to decide): per page, its blocks that are chrome now."""

    async def go() -> list[bytes]:
        index = RedisIndex.from_url(settings.redis_url.get_secret_value(), index_config(settings))
        await index.open()
        try:
            _, replies = await index.decide_and_count([], pages, chrome_config(settings))
            return replies
        finally:
            await index.close()

    return asyncio.run(go())


def test_a_page_counted_again_does_not_count_twice(redis_url: str):
    """Redelivery: the same page (same text) counted min_pages times makes none of its blocks chrome."""
    settings = make_settings(None, redis_url, chrome_min_pages=3)
    page = page_blocks("https://a.example/1", "Top stories\nA paragraph of the story itself.")
    assert count(settings, [page] * 5) == [b""] * 5
    others = [
        page_blocks(f"https://a.example/{k}", f"Top stories\nStory number {k} text.") for k in range(2, 4)
    ]
    replies = count(settings, others)
    assert replies[0] == b"" and replies[1] == block_hash("Top stories")


def test_chrome_is_per_host(redis_url: str):
    """A block on many pages of other hosts is not chrome of a host that has it once."""
    settings = make_settings(None, redis_url, chrome_min_pages=2)
    pages = [page_blocks(f"https://h{k}.example/p", f"Shared line\nOwn line {k}") for k in range(6)]
    assert count(settings, pages) == [b""] * 6


def test_memory_per_host_is_bounded(redis_url: str):
    """Many pages of new paragraphs: a host keeps about chrome_max_blocks blocks, and its chrome."""
    settings = make_settings(None, redis_url, chrome_min_pages=3, chrome_max_blocks=64)
    rng = random.Random(3)
    template = make_site_template(rng)
    pages = []
    for k in range(60):
        story = generate_story(rng, (100, 200))
        pages.append(page_blocks(f"https://{template.site}/n/{k}", template_page_text(template, story)))
    replies = count(settings, pages)
    client = redis.Redis.from_url(redis_url)
    (key,) = list(client.scan_iter(match=index_config(settings).prefix + ":c:*"))
    per_page = max(len(p.blocks) // 8 for p in pages)
    assert client.hlen(key) <= 64 + 1 + per_page
    chrome = {block_hash(b) for b in template.chrome_blocks() for b in b.split("\n")}
    learned = {replies[-1][i : i + 8] for i in range(0, len(replies[-1]), 8)}
    assert learned and learned <= chrome
    assert client.ttl(key) > 0


@pytest.mark.parametrize(
    ("url_b", "title_b"),
    [
        ("https://www.a.example/2", "Council approves the new bridge"),  # same host, same title
        ("https://a.example/2", "Mayor opens the harbour festival"),  # same host, other title
        ("https://a.example/2", ""),  # same host, no title: the text decides alone
        ("https://b.example/2", "Mayor opens the harbour festival"),  # other host: no title rule
    ],
)
def test_the_lua_same_host_rule_agrees_with_the_python_rule(redis_url: str, url_b: str, title_b: str):
    """decide.lua applies the same-host title rule as streams.fingerprint.verify does."""
    from streams.cleaning import clean_article
    from streams.fingerprint import fingerprint, shares_a_band, title_sketch, url_host, verify
    from tests.unit.test_hard_cases import EDITED, WIRE

    settings = make_settings(None, redis_url)

    def fp(text: str, url: str):
        cleaned = clean_article(title="", text=text, html=None, max_chars=settings.max_text_chars)
        return fingerprint(cleaned.text, url, settings.fingerprint_params())

    title_a, url_a = "Council approves the new bridge", "https://a.example/1"
    old, new = fp(WIRE, url_a), fp(EDITED, url_b)
    expected = shares_a_band(new, old) and verify(
        new,
        old.compact_signature(),
        old.compact_lead(),
        old.shingle_count,
        index_config(settings).rule,
        same_host=url_host(url_a) == url_host(url_b),
        new_title=title_sketch(title_b),
        old_title=title_sketch(title_a),
    )

    async def go():
        index = RedisIndex.from_url(settings.redis_url.get_secret_value(), index_config(settings))
        await index.open()
        try:
            return await index.decide_many([(old, "a", url_a, title_a), (new, "b", url_b, title_b)])
        finally:
            await index.close()

    _, verdict = asyncio.run(go())
    assert (verdict.status == "duplicate") == bool(expected)
    if expected:
        assert verdict.measure == expected.measure


def test_the_local_count_agrees_with_redis(redis_url: str):
    """The worker's local window (ChromeCache.observe) and chrome.lua call the same blocks chrome after
    each page, redeliveries included, while neither bound is reached."""
    from streams.chrome import ChromeCache, split_hashes

    settings = make_settings(None, redis_url, chrome_max_blocks=4096)
    records = [r for r in same_template_stream(21, sites=2, stories_per_site=20) if "text" in r]
    pages = [page_blocks(r["url"], r["text"]) for r in records]
    pages = pages[:7] + pages[3:5] + pages[7:]  # two pages counted again
    replies = count(settings, pages)
    cache = ChromeCache(max_hosts=10, min_pages=settings.chrome_min_pages)
    for page, reply in zip(pages, replies, strict=True):
        cache.observe(page)
        local = cache.get(page.host) & split_hashes(page.blocks)
        assert local == split_hashes(reply)
    assert any(replies)
