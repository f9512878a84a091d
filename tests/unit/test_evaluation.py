"""streams/tools/evaluation.py, which produces the README's quality figures, on hand-computed cases."""

from __future__ import annotations

import pytest

from streams.tools.evaluation import (
    NaivePipeline,
    Outcome,
    PageScore,
    WellUsedPipeline,
    adjusted_rand_index,
    extraction_scores,
    naive_shingles,
    naive_text,
    score,
    score_page,
)
from streams.tools.synthetic import generate_stream


@pytest.mark.parametrize(
    ("truth", "predicted", "expected"),
    [
        # index 1, sum_a 2, sum_b 1, expected 2 * 1 / 6, max 1.5: (1 - 1/3) / (1.5 - 1/3) = 4/7
        ([0, 0, 1, 1], [0, 0, 1, 2], 4 / 7),
        # index 0, sum_a 2, sum_b 2, expected 2/3, max 2: -0.5 (worse than chance)
        ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),
        # index 2, sum_a 6, sum_b 3, expected 6 * 3 / 15 = 1.2, max 4.5: 0.8 / 3.3
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2], 0.8 / 3.3),
        ([0, 0, 1, 2], [5, 5, 7, 9], 1.0),  # the same partition under other names
        ([0, 0, 0], [1, 1, 1], 1.0),  # one cluster each: nothing to adjust for
        ([0], [1], 1.0),
    ],
)
def test_adjusted_rand_index_of_hand_computed_cases(
    truth: list[int], predicted: list[int], expected: float
) -> None:
    ari = adjusted_rand_index([str(t) for t in truth], [str(p) for p in predicted])
    assert ari == pytest.approx(expected)
    assert adjusted_rand_index([str(p) for p in predicted], [str(t) for t in truth]) == pytest.approx(ari)


def labelled(cluster: str, kind: str) -> dict[str, str]:
    return {"label_cluster": cluster, "label_kind": kind}


def test_score_counts_each_kind_of_outcome() -> None:
    labels = [
        labelled("A", "original"),  # a1
        labelled("A", "exact"),  # a2: found (TP), canonical right
        labelled("B", "original"),  # b1: called a copy of a1 (FP)
        labelled("A", "spun"),  # a3: missed (FN)
        labelled("B", "excerpt"),  # b2: found, canonical b1 (cluster B) right
        labelled("C", "original"),  # c1: rejected
    ]
    outcomes = [
        Outcome("a1", "unique"),
        Outcome("a2", "duplicate", "a1"),
        Outcome("b1", "duplicate", "a1"),
        Outcome("a3", "unique"),
        Outcome("b2", "duplicate", "b1"),
        Outcome("c1", "rejected"),
    ]
    s = score(labels, outcomes, seconds=2.0)
    assert (s.articles, s.true_duplicates, s.predicted_duplicates, s.rejected) == (6, 3, 3, 1)
    assert (s.precision, s.recall, s.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert s.canonical_accuracy == 1.0
    assert s.recall_by_kind == {"exact": 1.0, "excerpt": 1.0, "spun": 0.0}
    assert s.count_by_kind == {"exact": 1, "excerpt": 1, "spun": 1}
    assert s.false_positives_by_kind == {"original": 1}
    assert s.articles_per_second == 3.0
    # Predicted clusters follow duplicate_of to its root: a1 a1 a1 a3 a1 c1 against A A B A B C:
    # index 2, sum_a 4, sum_b 6, expected 4 * 6 / 15 = 1.6, max 5: 0.4 / 3.4.
    assert s.ari == pytest.approx(0.4 / 3.4)


def test_canonical_accuracy_counts_copies_of_the_wrong_story() -> None:
    labels = [labelled("A", "original"), labelled("B", "original"), labelled("B", "edited")]
    outcomes = [Outcome("a", "unique"), Outcome("b", "unique"), Outcome("b2", "duplicate", "a")]
    s = score(labels, outcomes)
    assert (s.precision, s.recall, s.canonical_accuracy) == (1.0, 1.0, 0.0)
    assert s.articles_per_second == 0.0


def test_a_perfect_run_scores_one_everywhere() -> None:
    labels = [labelled("A", "original"), labelled("A", "recrawl"), labelled("B", "original")]
    outcomes = [Outcome("a", "unique"), Outcome("a2", "duplicate", "a"), Outcome("b", "unique")]
    s = score(labels, outcomes)
    assert (s.precision, s.recall, s.f1, s.ari, s.canonical_accuracy) == (1.0, 1.0, 1.0, 1.0, 1.0)


def test_naive_shingles_are_lower_case_word_five_grams() -> None:
    assert naive_shingles("One two Three four five six") == {
        "one two three four five",
        "two three four five six",
    }
    assert naive_shingles("Too short") == {"too short"}


def test_score_page_and_the_page_average() -> None:
    same = score_page("a b c d e", "a b c d e")
    assert same == PageScore(1.0, 0.0, 0.0)
    # Extracted 4-grams: abcd bcde cdex; expected: abcd bcde cdef: 2 shared, 1 extra, 1 missing.
    half = score_page("a b c d e x", "a b c d e f")
    assert half == PageScore(0.5, 0.25, 0.25)
    assert score_page("", "") == PageScore(1.0, 0.0, 0.0)
    scores = extraction_scores([same, half], seconds=[0.001, 0.003, 0.002])
    # Averages: TP 0.75, FP 0.125, FN 0.125: P = R = F1 = 0.75 / 0.875.
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((6 / 7, 6 / 7, 6 / 7))
    assert scores.median_ms == pytest.approx(2.0)


@pytest.mark.parametrize(
    "storage_config",
    [
        None,
        # datasketch's in-memory storage through the Redis path: an insertion session, the buffered
        # articles also queried in memory, a flush every 7 inserts.
        {"type": "dict"},
    ],
)
def test_datasketch_used_well_decides_as_the_naive_recipe(storage_config: dict[str, str] | None) -> None:
    articles = [(str(a["id"]), naive_text(a)) for a in generate_stream(120, duplicate_share=0.5, seed=11)]
    naive = NaivePipeline()
    well = WellUsedPipeline(storage_config=storage_config, flush_every=7)
    expected = [naive.decide(article_id, text) for article_id, text in articles]
    assert [well.decide(article_id, text) for article_id, text in articles] == expected
    assert sum(o.status == "duplicate" for o in expected) > 20  # the stream has copies to find
