"""Tests for the synthetic news generator and the bundled sample file."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from streams.tools import synthetic
from streams.tools.synthetic import (
    ALL_COPY_KINDS,
    LABEL_KINDS,
    SAMPLE_PATH,
    SYNONYMS,
    article_body,
    generate_story,
    generate_stream,
    jaccard,
    make_copy,
    make_original,
    sample_articles,
)


def _load(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_order(articles: list[dict[str, Any]]) -> None:
    """Assert the stream invariants: each cluster opens with its original, copies only follow it."""
    seen: dict[str, str] = {}
    for article in articles:
        cluster, kind = article["label_cluster"], article["label_kind"]
        if kind in ("original", "same_event"):
            assert cluster not in seen, f"{kind} {article['id']} reuses cluster {cluster}"
        else:
            assert kind in ALL_COPY_KINDS
            assert seen.get(cluster) == "original", f"{kind} {article['id']} comes before its original"
        seen.setdefault(cluster, kind)


def test_stream_is_deterministic_per_seed() -> None:
    """The same seed gives the same stream; another seed gives another one."""
    first = list(generate_stream(40, seed=3))
    again = list(generate_stream(40, seed=3))
    other = list(generate_stream(40, seed=4))
    assert first == again
    assert [a["text" if "text" in a else "html"] for a in first] != [
        a["text" if "text" in a else "html"] for a in other
    ]
    assert generate_story(random.Random(9)) == generate_story(random.Random(9))


def test_stream_has_requested_size_and_shares() -> None:
    """``n`` records, about ``duplicate_share`` copies spread over every kind, plus same-event stories."""
    articles = list(generate_stream(400, duplicate_share=0.3, seed=1))
    counts = Counter(a["label_kind"] for a in articles)
    assert len(articles) == 400
    assert sum(counts[kind] for kind in ALL_COPY_KINDS) == 120
    assert all(counts[kind] >= 14 for kind in ALL_COPY_KINDS)
    assert counts["same_event"] > 0
    assert set(counts) <= set(LABEL_KINDS)


def test_sample_file_has_every_kind() -> None:
    """The bundled sample holds every kind (4+ of each copy kind, 6+ same-event) and is current."""
    articles = _load(SAMPLE_PATH)
    counts = Counter(a["label_kind"] for a in articles)
    assert 100 <= len(articles) <= 140
    assert SAMPLE_PATH.stat().st_size < 1_000_000
    assert all(counts[kind] >= 4 for kind in ALL_COPY_KINDS), counts
    assert counts["same_event"] >= 6
    assert articles == sample_articles(), "run `python -m streams.tools.synthetic` to refresh the sample"


def test_records_have_the_contract_fields() -> None:
    """Every record has the contract's fields and exactly one of ``text`` and ``html``."""
    for article in _load(SAMPLE_PATH):
        assert ("text" in article) != ("html" in article)
        assert article["source"].endswith(".example")
        assert article["url"].lower().startswith("https://")
        assert article["published_at"].endswith("Z")
        assert article["label_kind"] in LABEL_KINDS
        assert isinstance(article["id"], str) and isinstance(article["title"], str)


def test_copies_come_after_originals() -> None:
    """Copies follow their original; same-event stories open clusters of their own."""
    _check_order(_load(SAMPLE_PATH))
    _check_order(list(generate_stream(300, duplicate_share=0.5, seed=8, same_event_share=0.1)))


def test_stream_is_in_publication_order() -> None:
    """Records come in ``published_at`` order, and every copy is published after its original."""
    articles = list(generate_stream(200, seed=12))
    times = [a["published_at"] for a in articles]
    assert times == sorted(times)
    first_seen: dict[str, str] = {}
    for article in articles:
        original_time = first_seen.setdefault(article["label_cluster"], article["published_at"])
        assert article["published_at"] >= original_time


def test_stories_have_the_requested_length() -> None:
    """Story bodies stay within the word bounds."""
    rng = random.Random(4)
    for _ in range(50):
        story = generate_story(rng)
        assert 300 <= story.word_count <= 800
        assert story.topic in synthetic.TOPICS


def test_unrelated_stories_share_few_trigrams() -> None:
    """Unrelated stories share few word 3-grams: mean Jaccard below 0.05."""
    rng = random.Random(21)
    stories = [generate_story(rng) for _ in range(160)]
    scores = [jaccard(stories[i].text, stories[i + 1].text) for i in range(0, len(stories), 2)]
    assert statistics.mean(scores) < 0.05
    assert max(scores) < 0.12


def test_same_event_shares_entities_but_not_sentences() -> None:
    """A same-event story names the same people, places and numbers in fresh sentences."""
    rng = random.Random(5)
    scores = []
    for _ in range(30):
        story = generate_story(rng)
        original = make_original(story, rng)
        other = make_copy("same_event", original, rng, story=story)
        text = other["text"]
        assert other["label_cluster"] != original["label_cluster"]
        keys = ("P1L", "P2L", "ORG", "CITY", "N1", "N2", "N3")
        shared = [key for key in keys if story.entities[key] in text]
        assert len(shared) >= 3, shared
        scores.append(jaccard(original["text"], text))
    assert statistics.mean(scores) < 0.08


def test_copies_stay_close_to_their_original() -> None:
    """Every copy kind keeps much of the original's wording (unlike a same-event story)."""
    rng = random.Random(6)
    story = generate_story(rng)
    original = make_original(story, rng)
    for kind in ALL_COPY_KINDS:
        copy = make_copy(kind, original, rng, story=story)
        assert copy["label_cluster"] == original["label_cluster"]
        assert copy["label_kind"] == kind
        assert jaccard(original["text"], article_body(copy)) > 0.25, kind


def test_copy_makers_accept_a_story_or_a_bare_record() -> None:
    """Copy makers work from a Story (publishing it first) or from a record alone."""
    rng = random.Random(7)
    story = generate_story(rng)
    for kind in (*ALL_COPY_KINDS, "same_event"):
        assert make_copy(kind, story, rng)["label_kind"] == kind
        assert make_copy(kind, make_original(story, rng), rng)["label_kind"] == kind


def test_html_kind_contains_paragraphs() -> None:
    """``html`` copies are full pages with one ``<p>`` per paragraph."""
    pages = [a["html"] for a in _load(SAMPLE_PATH) if a["label_kind"] == "html"]
    assert pages
    for page in pages:
        assert page.startswith("<!DOCTYPE html>")
        assert "<p>" in page and "<h1>" in page and "<footer>" in page and "cookie" in page


def test_mojibake_kind_contains_broken_encoding() -> None:
    """``mojibake`` copies show UTF-8 read as cp1252, such as ``â€``."""
    texts = [a["text"] for a in _load(SAMPLE_PATH) if a["label_kind"] == "mojibake"]
    assert texts
    for text in texts:
        assert "â€" in text


def test_recrawl_adds_tracking_parameters() -> None:
    """``recrawl`` copies keep the source and add tracking parameters to the same URL."""
    rng = random.Random(8)
    original = make_original(generate_story(rng), rng)
    for _ in range(20):
        copy = make_copy("recrawl", original, rng)
        assert copy["source"] == original["source"]
        assert copy["text"] == original["text"]
        assert any(p in copy["url"] for p in ("utm_", "fbclid=", "gclid="))
        assert copy["url"].lower().split("?")[0] == original["url"].lower()


def test_synonym_table_is_large() -> None:
    """The spinner's synonym table has 200+ pairs."""
    assert len(SYNONYMS) >= 200
    assert SYNONYMS["largest"] == "biggest" and SYNONYMS["said"] == "stated"
