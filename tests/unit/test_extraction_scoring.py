"""The page-extraction score of ``streams eval --pages``, on cases small enough to count by hand."""

from __future__ import annotations

import pytest

from streams.models import DuplicateArticle, UniqueArticle
from streams.tools.evaluation import PageScore, extraction_scores, score_page, word_ngrams
from streams.tools.pages import pair_report, same_text_groups


def test_word_ngrams_are_a_multiset_of_word_runs():
    """Words are \\w+ runs (punctuation splits them), and a repeated 4-gram counts twice."""
    grams = word_ngrams("a b c d a b c d")
    assert grams[("a", "b", "c", "d")] == 2
    assert sum(grams.values()) == 5
    assert sum(word_ngrams("it's-a test").values()) == 1  # it / s / a / test


def test_an_exact_extraction_scores_all_true_positives():
    """The same words, other punctuation and spacing: TP 1, FP 0, FN 0."""
    assert score_page("one two, three four five", "one two three\nfour five") == PageScore(1.0, 0.0, 0.0)


def test_extra_and_missing_text_are_shares_of_the_sum():
    """Extracted 'a b c d e f' (3 grams) against 'b c d e f g h' (4 grams): 2 shared, 1 extra, 2 missing."""
    page = score_page("a b c d e f", "b c d e f g h")
    assert page == PageScore(pytest.approx(2 / 5), pytest.approx(1 / 5), pytest.approx(2 / 5))


def test_an_empty_extraction_of_a_real_page_is_all_false_negatives():
    """Nothing extracted from a page with text: TP 0, FN 1."""
    assert score_page("", "w x y z") == PageScore(0.0, 0.0, 1.0)


def test_two_texts_without_ngrams_count_as_a_match():
    """Fewer than four words on both sides: nothing to compare, a perfect page."""
    assert score_page("too short", "also") == PageScore(1.0, 0.0, 0.0)


def test_scores_average_pages_before_precision_and_recall():
    """Two pages (TP .5 FP .5 FN 0) and (TP 1 FP 0 FN 0): averages .75/.25/0, so P .75, R 1, F1 6/7."""
    scores = extraction_scores([PageScore(0.5, 0.5, 0.0), PageScore(1.0, 0.0, 0.0)], [0.001, 0.003])
    assert scores.precision == pytest.approx(0.75)
    assert scores.recall == pytest.approx(1.0)
    assert scores.f1 == pytest.approx(6 / 7)
    assert scores.median_ms == pytest.approx(2.0)


def test_no_pages_score_zero():
    """An empty run has no precision to report rather than a division by zero."""
    assert extraction_scores([]).f1 == 0.0


def _duplicate(article: str, of: str) -> DuplicateArticle:
    return DuplicateArticle(
        id=article, url="u", duplicate_of=of, duplicate_of_url="v", match="near", similarity=0.9,
        measure="jaccard", threshold=0.35, source=None, processed_at="t",
    )  # fmt: skip


def _unique(article: str) -> UniqueArticle:
    return UniqueArticle(
        id=article, url="u", canonical_url="u", title="", text="", source=None, published_at=None,
        language=None, word_count=0, extra={}, processed_at="t",
    )  # fmt: skip


def test_pair_report_counts_pairs_found_and_false_links():
    """Pages a, b, c: a's HTML finds its text, b's HTML is linked to a's text (false), c's is missed."""
    pages = [{"id": k, "expected_text": f"story {k} " * 6} for k in "abc"]
    decisions = [
        _unique("text:a"), _unique("text:b"), _unique("text:c"),
        _duplicate("html:a", "text:a"), _duplicate("html:b", "text:a"), _unique("html:c"),
    ]  # fmt: skip
    report = pair_report(pages, decisions)
    assert report.pairs_found == 1
    assert report.false_links == [("html:b", "text:a")]


def test_pair_report_treats_pages_with_the_same_expected_text_as_one_page():
    """b's expected text is a's with one word changed: b's HTML linked to a's text is a pair found."""
    a = "lorem ipsum dolor sit amet consectetur adipisicing elit sed do eiusmod tempor incididunt ut labore"
    pages = [{"id": "a", "expected_text": a}, {"id": "b", "expected_text": a.replace("labore", "dolore")}]
    decisions = [
        _unique("text:a"), _duplicate("text:b", "text:a"),
        _duplicate("html:a", "text:a"), _duplicate("html:b", "text:a"),
    ]  # fmt: skip
    report = pair_report(pages, decisions)
    assert (report.pairs_found, report.false_links, report.text_groups_merged) == (2, [], 1)


def test_same_text_groups_judges_on_the_expected_texts_alone():
    """Different texts stay apart however the engine decided; a shared text joins the first page's group."""
    shared = "one two three four five six seven eight nine ten eleven twelve"
    pages = [
        {"id": "a", "expected_text": shared},
        {"id": "b", "expected_text": "alpha beta gamma delta epsilon zeta eta theta iota kappa"},
        {"id": "c", "expected_text": shared + " thirteen"},
    ]
    assert same_text_groups(pages) == {"a": "a", "b": "b", "c": "a"}
