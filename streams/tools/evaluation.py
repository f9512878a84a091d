"""Pure scoring of dedup decisions against labelled data, and the naive datasketch baseline.

The labelled format is that of ``shared/data/dev.jsonl``: input fields plus ``label_cluster`` (the
story) and ``label_kind`` (how the copy was made). An article is a true duplicate when an earlier line
shares its cluster.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class Outcome:
    """One article's decision, reduced to what scoring needs."""

    article_id: str
    status: str  # unique, duplicate or rejected
    duplicate_of: str | None = None


@dataclass
class Scores:
    """Quality figures of a run over labelled data."""

    articles: int
    true_duplicates: int
    predicted_duplicates: int
    precision: float
    recall: float
    f1: float
    ari: float
    canonical_accuracy: float
    recall_by_kind: dict[str, float] = field(default_factory=dict)
    count_by_kind: dict[str, int] = field(default_factory=dict)
    false_positives_by_kind: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    articles_per_second: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _comb2(n: int) -> float:
    return n * (n - 1) / 2


def adjusted_rand_index(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """ARI of two clusterings given as one label per item (Hubert and Arabie, 1985)."""
    n = len(truth)
    if n < 2:
        return 1.0
    pairs = Counter(zip(truth, predicted, strict=True))
    index = sum(_comb2(c) for c in pairs.values())
    sum_a = sum(_comb2(c) for c in Counter(truth).values())
    sum_b = sum(_comb2(c) for c in Counter(predicted).values())
    expected = sum_a * sum_b / _comb2(n)
    maximum = (sum_a + sum_b) / 2
    if math.isclose(maximum, expected):
        return 1.0
    return (index - expected) / (maximum - expected)


def score(labels: Sequence[Mapping[str, Any]], outcomes: Sequence[Outcome], seconds: float = 0.0) -> Scores:
    """Score decisions (in stream order) against the labelled articles they were made for."""
    seen_clusters: set[str] = set()
    cluster_of_id: dict[str, str] = {}
    tp = fp = fn = canonical_ok = rejected = 0
    by_kind: Counter[str] = Counter()
    hit_by_kind: Counter[str] = Counter()
    fp_by_kind: Counter[str] = Counter()
    root: dict[str, str] = {}
    predicted_cluster: list[str] = []
    for label, outcome in zip(labels, outcomes, strict=True):
        cluster = str(label["label_cluster"])
        kind = str(label.get("label_kind", "unknown"))
        is_duplicate = cluster in seen_clusters
        seen_clusters.add(cluster)
        cluster_of_id.setdefault(outcome.article_id, cluster)
        said_duplicate = outcome.status == "duplicate"
        rejected += outcome.status == "rejected"
        if is_duplicate:
            by_kind[kind] += 1
        if said_duplicate and is_duplicate:
            tp += 1
            hit_by_kind[kind] += 1
            canonical_ok += cluster_of_id.get(outcome.duplicate_of or "") == cluster
        elif said_duplicate:
            fp += 1
            fp_by_kind[kind] += 1
        elif is_duplicate:
            fn += 1
        if said_duplicate and outcome.duplicate_of:
            root[outcome.article_id] = root.get(outcome.duplicate_of, outcome.duplicate_of)
        else:
            root.setdefault(outcome.article_id, outcome.article_id)
        predicted_cluster.append(root.get(outcome.article_id, outcome.article_id))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    truth = [str(label["label_cluster"]) for label in labels]
    return Scores(
        articles=len(labels),
        true_duplicates=tp + fn,
        predicted_duplicates=tp + fp,
        precision=precision,
        recall=recall,
        f1=f1,
        ari=adjusted_rand_index(truth, predicted_cluster),
        canonical_accuracy=canonical_ok / tp if tp else 1.0,
        recall_by_kind={k: hit_by_kind[k] / n for k, n in sorted(by_kind.items())},
        count_by_kind=dict(sorted(by_kind.items())),
        false_positives_by_kind=dict(sorted(fp_by_kind.items())),
        rejected=rejected,
        articles_per_second=len(labels) / seconds if seconds > 0 else 0.0,
    )


_WORDS = re.compile(r"\w+")


def naive_shingles(text: str, size: int = 5) -> set[str]:
    """Lower-case word n-grams, as a do-it-yourself pipeline would make them."""
    words = _WORDS.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def naive_text(article: Mapping[str, Any]) -> str:
    """The text a naive pipeline sees: the text field, or the page's visible text."""
    if article.get("text"):
        return str(article["text"])
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(str(article.get("html") or ""))
    return tree.body.text(separator=" ") if tree.body else ""


def redis_storage_config(redis_url: str, basename: bytes) -> dict[str, Any]:
    """datasketch's Redis ``storage_config`` for a ``redis://`` or ``rediss://`` URL, its keys under
    ``basename``."""
    parts = urlsplit(redis_url)
    params: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": int(parts.path.lstrip("/") or 0),
    }
    if parts.username:
        params["username"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        params["ssl"] = True
    return {"type": "redis", "basename": basename, "redis": params}


class NaivePipeline:
    """The baseline: datasketch MinHash (128, per-shingle ``update``), ``MinHashLSH`` at 0.8, query, insert.

    With ``storage_config`` it uses datasketch's own Redis storage, as a do-it-yourself service would.
    """

    def __init__(
        self, threshold: float = 0.8, num_perm: int = 128, storage_config: dict[str, Any] | None = None
    ) -> None:
        from datasketch import MinHash, MinHashLSH  # lazily: only the baseline needs datasketch

        self.num_perm = num_perm
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, storage_config=storage_config)
        self._minhash_cls = MinHash
        self._order: dict[str, int] = {}

    def signature(self, text: str) -> Any:
        minhash = self._minhash_cls(num_perm=self.num_perm)
        for shingle in naive_shingles(text):
            minhash.update(shingle.encode("utf-8"))
        return minhash

    def decide(self, article_id: str, text: str) -> Outcome:
        minhash = self.signature(text)
        matches = self.lsh.query(minhash)
        if matches:
            first = sorted(matches, key=str)[0]
            return Outcome(
                article_id, "duplicate", first.decode() if isinstance(first, bytes) else str(first)
            )
        if article_id not in self.lsh:
            self.lsh.insert(article_id, minhash)
        return Outcome(article_id, "unique")


class WellUsedPipeline:
    """The same recipe as :class:`NaivePipeline`, written as a datasketch user who knows it would.

    Same shingles, ``MinHash(128)`` with its default hash and seed, ``MinHashLSH`` at 0.8, query then insert:
    the same signatures, hence the same decisions. Faster: one ``update_batch`` per article on shingle bytes,
    the permutations drawn once and reused (``MinHash`` otherwise draws them per article), and, with Redis
    storage, inserts buffered in an ``insertion_session`` flushed every ``flush_every`` inserts (64: as often
    as the project's engine writes a batch, so neither holds more undurable decisions). A query must see
    every earlier insert, so articles waiting in the buffer are also held in an in-memory ``MinHashLSH``
    and queried there: the union of both answers is what the full index would answer. The flush is the
    session's ``close()``: in datasketch 2.0 the session's ``buffer_size`` does not reach the Redis pipelines.
    Keys are the ids' UTF-8 bytes with ``prepickle=False``: datasketch would otherwise pickle every key into
    Redis and unpickle what a query reads back from it.
    """

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        storage_config: dict[str, Any] | None = None,
        flush_every: int = 64,
    ) -> None:
        from datasketch import MinHash, MinHashLSH  # lazily: only the baseline needs datasketch

        self.num_perm = num_perm
        self.threshold = threshold
        self.flush_every = flush_every
        self.lsh = MinHashLSH(
            threshold=threshold, num_perm=num_perm, storage_config=storage_config, prepickle=False
        )
        self._minhash_cls = MinHash
        self._lsh_cls = MinHashLSH
        template = MinHash(num_perm=num_perm)
        self._permutations = template.permutations
        self._scheme = template.scheme
        self._ids: set[str] = set()
        self._session = self.lsh.insertion_session() if storage_config else None
        self._pending: Any = None
        self._waiting = 0
        if self._session is not None:
            self._pending = MinHashLSH(threshold=threshold, num_perm=num_perm)

    def signature(self, text: str) -> Any:
        minhash = self._minhash_cls(
            num_perm=self.num_perm, permutations=self._permutations, scheme=self._scheme
        )
        minhash.update_batch([shingle.encode("utf-8") for shingle in naive_shingles(text)])
        return minhash

    def decide(self, article_id: str, text: str) -> Outcome:
        minhash = self.signature(text)
        matches = set(self.lsh.query(minhash))
        if self._pending is not None and self._waiting:
            matches.update(self._pending.query(minhash))
        if matches:
            return Outcome(article_id, "duplicate", min(key.decode() for key in matches))
        if article_id not in self._ids:
            self._ids.add(article_id)
            key = article_id.encode()
            if self._session is None:
                self.lsh.insert(key, minhash, check_duplication=False)
            else:
                self._session.insert(key, minhash, check_duplication=False)
                self._pending.insert(key, minhash, check_duplication=False)
                self._waiting += 1
                if self._waiting >= self.flush_every:
                    self.flush()
        return Outcome(article_id, "unique")

    def flush(self) -> None:
        """Send the buffered inserts (a no-op in memory): one pipeline per storage, then a reconnect."""
        if self._session is None or not self._waiting:
            return
        self._session.close()
        self._pending = self._lsh_cls(threshold=self.threshold, num_perm=self.num_perm)
        self._waiting = 0


# --- HTML extraction against expected text (``streams eval --pages``) ---------------------------------

_PAGE_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class PageScore:
    """One page's word 4-grams: true positives, false positives and false negatives as shares of their sum."""

    tp: float
    fp: float
    fn: float


def word_ngrams(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    """The multiset of word n-grams of a text (words are ``\\w+`` runs, case kept)."""
    words = _PAGE_WORDS.findall(text)
    return Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def score_page(extracted: str, expected: str, size: int = 4) -> PageScore:
    """Extracted against expected text, as the public article-extraction benchmarks score a page.

    Each count is divided by TP + FP + FN, so that every page weighs the same in the average. A page
    where both texts have no n-gram counts as a perfect match.
    """
    got, want = word_ngrams(extracted, size), word_ngrams(expected, size)
    tp = sum((got & want).values())
    fp = sum(got.values()) - tp
    fn = sum(want.values()) - tp
    total = tp + fp + fn
    if total == 0:
        return PageScore(1.0, 0.0, 0.0)
    return PageScore(tp / total, fp / total, fn / total)


@dataclass(frozen=True, slots=True)
class ExtractionScores:
    """Precision, recall and F1 from the page-averaged shares, and the time per page."""

    pages: int
    precision: float
    recall: float
    f1: float
    median_ms: float
    median_cpu_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def extraction_scores(
    pages: Sequence[PageScore], seconds: Sequence[float] = (), cpu_seconds: Sequence[float] = ()
) -> ExtractionScores:
    """Average the pages' shares, then P = TP / (TP + FP), R = TP / (TP + FN), F1 their harmonic mean."""
    n = len(pages)
    tp = sum(p.tp for p in pages) / n if n else 0.0
    fp = sum(p.fp for p in pages) / n if n else 0.0
    fn = sum(p.fn for p in pages) / n if n else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ExtractionScores(
        pages=n,
        precision=precision,
        recall=recall,
        f1=f1,
        median_ms=_median(seconds) * 1000,
        median_cpu_ms=_median(cpu_seconds) * 1000,
    )


def _median(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
