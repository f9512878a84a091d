"""Site chrome and the same-host rule without servers: blocks, stripping, the cache, and the pure decision."""

from __future__ import annotations

import itertools
import json
import random

from streams.chrome import ChromeCache, block_hash, html_titles, page_blocks, split_hashes, strip_chrome
from streams.dedup import PrepareConfig, PreparedArticle, index_config, prepare
from streams.fingerprint import shares_a_band, title_agreement, title_sketch, url_host, verify
from streams.settings import Settings
from streams.tools.synthetic import (
    generate_story,
    make_site_template,
    same_template_stream,
    template_page_text,
)

SETTINGS = Settings()
CONFIG = PrepareConfig.from_settings(SETTINGS)
RULE = index_config(SETTINGS).rule


def prepared(record: dict, chrome: frozenset[bytes] | None = None) -> PreparedArticle:
    result = prepare(json.dumps(record).encode(), CONFIG, chrome=chrome)
    assert isinstance(result, PreparedArticle)
    return result


def linked(a: PreparedArticle, b: PreparedArticle) -> bool:
    """Whether the index would call ``a`` a near duplicate of ``b`` (the pure twin of decide.lua)."""
    fa, fb = a.fingerprint, b.fingerprint
    return shares_a_band(fa, fb) and (
        verify(
            fa,
            fb.compact_signature(),
            fb.compact_lead(),
            fb.shingle_count,
            RULE,
            same_host=url_host(a.raw.url) == url_host(b.raw.url),
            new_title=title_sketch(a.titles),
            old_title=title_sketch(b.titles),
        )
        is not None
    )


def test_blocks_are_normalised_words():
    """Case, digits and punctuation do not change a block's hash; words do; no letters, no hash."""
    assert block_hash("Most popular!") == block_hash("most popular")
    assert block_hash("“Comments” (12)") == block_hash('"comments" (3)')
    assert block_hash("Most popular") != block_hash("Most read")
    assert block_hash("2026 / 12, 10:30") is None


def test_page_blocks_are_distinct_and_the_tag_follows_the_text():
    page = page_blocks("https://www.Example.com/a", "Home\n\nStory line\nHome")
    assert page.host == "example.com" and len(page.blocks) == 16
    assert page.tag == page_blocks("https://example.com/b", "Home\n\nStory line\nHome").tag
    assert page.tag != page_blocks("https://example.com/a", "Home\n\nOther line").tag


def test_strip_chrome_keeps_the_story_and_a_page_that_is_all_chrome():
    chrome = frozenset({block_hash("Most popular"), block_hash("Sign in to comment")})
    story = "The council approved the new bridge on Monday after a long debate."
    text = f"Most popular\n\n{story}\n\nSign in to comment"
    assert (
        strip_chrome(text, chrome, 20) == "The council approved the new bridge on Monday after a long debate."
    )
    assert (
        strip_chrome("Most popular\n\nSign in to comment", chrome, 20) == "Most popular\n\nSign in to comment"
    )


def test_the_cache_learns_and_forgets_per_host():
    """A host's chrome is what the counter last said of the blocks it was sent; other hosts are apart."""
    cache = ChromeCache(max_hosts=2)
    page = page_blocks("https://a.example/1", "Nav\nStory")
    cache.update([page], [block_hash("Nav") or b""])
    assert cache.get("a.example") == {block_hash("Nav")}
    assert cache.get("b.example") == frozenset()
    cache.update([page], [b""])  # pruned or expired in Redis
    assert cache.get("a.example") == frozenset()
    for host in ("c", "d", "e"):
        cache.update([page_blocks(f"https://{host}.example/1", "Nav")], [block_hash("Nav") or b""])
    assert cache.hosts() == 2 and cache.get("c.example") == frozenset()
    assert split_hashes(b"12345678abcdefgh") == {b"12345678", b"abcdefgh"}


def test_the_cache_counts_its_own_latest_pages_until_redis_answers():
    """A block on min_pages distinct pages of the local window is chrome for the next page; a page seen
    twice counts once; pages leaving the window stop counting."""
    cache = ChromeCache(max_hosts=10, min_pages=3, window=4)
    nav = block_hash("Home World Sport")
    page = page_blocks("https://a.example/0", "Home World Sport\nStory zero")
    cache.observe(page)
    cache.observe(page)  # redelivered
    cache.observe(page_blocks("https://a.example/1", "Home World Sport\nStory one"))
    assert nav not in cache.get("a.example")
    cache.observe(page_blocks("https://a.example/2", "Home World Sport\nStory two"))
    assert cache.get("a.example") == {nav}
    assert cache.get("b.example") == frozenset()
    for k, word in enumerate(["three", "four", "five", "six"], 3):  # the window moves past the nav line
        cache.observe(page_blocks(f"https://a.example/{k}", f"Story {word}"))
    assert cache.get("a.example") == frozenset()


def test_learning_in_stream_order_unlinks_the_template_without_the_title_rule():
    """The pure path of the engine's learning: pages prepared in order with the chrome known so far; once
    min_pages pages of a site were seen, no later page of it matches an earlier one on the template."""
    cache = ChromeCache(max_hosts=10, min_pages=SETTINGS.chrome_min_pages)
    pages = []
    for record in same_template_stream(6, sites=2, stories_per_site=12):
        page = prepared(record, cache.get(url_host(record["url"])))
        assert page.blocks is not None
        cache.observe(page.blocks)
        pages.append(page)
    learned = pages[2 * SETTINGS.chrome_min_pages :]
    assert all(p.chrome_dropped for p in learned)
    for a, b in itertools.combinations(pages, 2):
        if b in learned and url_host(a.raw.url) == url_host(b.raw.url):
            fa, fb = b.fingerprint, a.fingerprint
            assert verify(fa, fb.compact_signature(), fb.compact_lead(), fb.shingle_count, RULE) is None


def test_an_html_page_gives_its_head_titles_to_the_title_rule():
    """A page whose first <h1> is the site's logo still agrees with its story's plain text by the <title>
    and og:title; two stories of that site share only the site's name."""

    def page(headline: str) -> str:
        return (
            f"<html><head><title>{headline} | Salon.com</title>"
            f'<meta property="og:title" content="{headline}"></head><body><h1>Salon</h1>'
            f"<article><p>{'Story text of some length. ' * 20}</p></article></body></html>"
        )

    assert html_titles(page("Tom &amp; Jerry return")) == [
        "Tom & Jerry return | Salon.com",
        "Tom & Jerry return",
    ]
    one = prepared({"url": "https://salon.com/1", "html": page("The sharing economy is a lie")})
    text = prepared(
        {"url": "https://salon.com/1/text", "title": "The sharing economy is a lie", "text": "x " * 30}
    )
    other = prepared({"url": "https://salon.com/2", "html": page("Why neon is the ultimate symbol")})
    assert one.title == "Salon"  # the extractor's title: the logo
    assert title_agreement(title_sketch(one.titles), title_sketch(text.titles)) == 1.0
    assert (
        title_agreement(title_sketch(one.titles), title_sketch(other.titles)) < RULE.same_host_title_threshold
    )


def test_url_host_and_title_agreement():
    assert url_host("https://user@WWW.Example.com:8080/x?y=1") == "example.com"
    assert url_host("not a url") == ""
    assert (
        title_agreement(
            title_sketch("Child access laws shake-up"), title_sketch("Child access law shake-up planned")
        )
        == 0.75
    )
    assert title_agreement(title_sketch(""), title_sketch("Anything")) == 0.0


def test_same_template_pages_are_never_linked_by_the_pure_rule():
    """Every pair of pages of one site (different stories, one template, short ones too): no near match."""
    pages = [prepared(r) for r in same_template_stream(3, sites=3, stories_per_site=12)]
    same_site = [
        (a, b) for a, b in itertools.combinations(pages, 2) if url_host(a.raw.url) == url_host(b.raw.url)
    ]
    assert len(same_site) == 3 * 66
    assert [(a.raw.url, b.raw.url) for a, b in same_site if linked(a, b)] == []


def test_without_the_guards_the_template_links_different_stories():
    """What the guards prevent: without the title rule or known chrome, the template links pages."""
    pages = [prepared(r) for r in same_template_stream(3, sites=1, stories_per_site=12)]
    a, b = pages[0], pages[3]  # two short stories
    fa, fb = a.fingerprint, b.fingerprint
    assert verify(fa, fb.compact_signature(), fb.compact_lead(), fb.shingle_count, RULE) is not None


def test_known_chrome_unlinks_the_template_without_the_title_rule():
    """With the site's chrome known, pages of different stories share too little to match at all."""
    rng = random.Random(4)
    template = make_site_template(rng)
    chrome = frozenset(
        filter(None, (block_hash(line) for b in template.chrome_blocks() for line in b.split("\n")))
    )
    stories = [generate_story(rng, (40, 80)) for _ in range(6)]
    pages = [
        prepared(
            {"url": f"https://{template.site}/{k}", "title": "", "text": template_page_text(template, s)},
            chrome,
        )
        for k, s in enumerate(stories)
    ]
    for a, b in itertools.combinations(pages, 2):
        fa, fb = a.fingerprint, b.fingerprint
        assert verify(fa, fb.compact_signature(), fb.compact_lead(), fb.shingle_count, RULE) is None
        assert a.chrome_dropped > 0


def test_html_and_text_of_one_story_on_its_site_are_linked():
    """The story's plain text (another URL of the same host) matches its template page."""
    rng = random.Random(8)
    template = make_site_template(rng)
    for k in range(5):
        story = generate_story(rng, (150, 400))
        url = f"https://{template.site}/news/{k}"
        page = prepared({"url": url, "title": story.title, "text": template_page_text(template, story)})
        text = prepared({"url": url + "/amp", "title": story.title, "text": story.text})
        assert linked(text, page), k


def test_a_wire_story_on_other_hosts_is_not_held_to_the_title_rule():
    """Cross-host copies need no title agreement: a retitled wire story is still found."""
    story = generate_story(random.Random(2), (250, 400))
    a = prepared({"url": "https://one.example/a", "title": story.title, "text": story.text})
    b = prepared({"url": "https://two.example/b", "title": "Completely different words", "text": story.text})
    assert linked(b, a)
