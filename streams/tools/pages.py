"""Real pages with their expected text: extraction quality and the HTML-vs-text pair check.

``streams eval --pages FILE`` runs both. A pages file is JSONL (optionally gzipped) with ``html`` and
``expected_text`` on each line, as ``shared/data/pages.jsonl.gz``. Extraction is scored with
:func:`streams.tools.evaluation.score_page`; the pair check sends each page twice through the real engine (its
expected text under one URL, its HTML under another) and counts the pairs found and the false links.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.cleaning import clean_article
from streams.models import Decision, DuplicateArticle, Rejection
from streams.tools.evaluation import ExtractionScores, PageScore, extraction_scores, score_page, word_ngrams

Extractor = Callable[[str], str]


def read_pages(path: Path) -> list[dict[str, Any]]:
    """The pages of a JSONL or .jsonl.gz file; every line needs ``html`` and ``expected_text``."""
    opener = gzip.open if path.suffix == ".gz" else open
    pages = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            page = json.loads(line)
            if (
                not isinstance(page, dict)
                or not isinstance(page.get("html"), str)
                or "expected_text" not in page
            ):
                raise ValueError(f"{path}:{number}: each line needs 'html' and 'expected_text'")
            page.setdefault("id", str(number))
            pages.append(page)
    return pages


def streams_extractor(name: str, max_chars: int = 200_000) -> Extractor:
    """What the service makes of a page with the given extractor: the cleaned text of clean_article."""

    def extract(html: str) -> str:
        return clean_article(title="", text=None, html=html, max_chars=max_chars, extractor=name).text

    return extract


def trafilatura_extract(html: str) -> str:
    """``trafilatura.extract(html)`` with its defaults, the reference the issue compares against."""
    import trafilatura

    return trafilatura.extract(html) or ""


def measure_extractor(extract: Extractor, pages: Sequence[dict[str, Any]]) -> ExtractionScores:
    """Score one extractor over the pages, with wall and CPU time per page (after one warm-up call)."""
    if pages:
        extract(pages[0]["html"])
    scores: list[PageScore] = []
    wall: list[float] = []
    cpu: list[float] = []
    for page in pages:
        started, started_cpu = time.perf_counter(), time.process_time()
        text = extract(page["html"])
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        scores.append(score_page(text, str(page["expected_text"])))
    return extraction_scores(scores, wall, cpu)


# --- the HTML-vs-text pair check ------------------------------------------------------------------


def pair_payloads(pages: Sequence[dict[str, Any]]) -> list[bytes]:
    """Each page's expected text as a text article, then (after all of them) its HTML as a page.

    All texts first, so that every HTML page can be linked to any text, its own or another's.
    """
    texts, htmls = [], []
    for page in pages:
        key = str(page["id"])
        texts.append(
            {"id": f"text:{key}", "url": f"https://text.pairs.test/{key}", "text": page["expected_text"]}
        )
        htmls.append({"id": f"html:{key}", "url": f"https://html.pairs.test/{key}", "html": page["html"]})
    return [json.dumps(article, ensure_ascii=False).encode("utf-8") for article in texts + htmls]


@dataclass(frozen=True, slots=True)
class PairReport:
    """What the engine made of the pairs."""

    pages: int
    pairs_found: int
    false_links: list[tuple[str, str]]  # (article, the other page's article it was linked to)
    rejected: list[tuple[str, str]]  # (article, error code)
    text_groups_merged: int = 0  # pages whose expected text is an earlier page's article (same_text_groups)

    @property
    def found_share(self) -> float:
        return self.pairs_found / self.pages if self.pages else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "pairs_found": self.pairs_found,
            "found_share": self.found_share,
            "false_links": [list(link) for link in self.false_links],
            "rejected": [list(r) for r in self.rejected],
            "text_groups_merged": self.text_groups_merged,
        }


#: Two pages are the same article when this share of the shorter expected text's word 4-grams is in the
#: other's: Readability's parser cases share one lorem-ipsum text under different markup.
SAME_TEXT_CONTAINMENT = 0.5


def same_text_groups(
    pages: Sequence[dict[str, Any]], threshold: float = SAME_TEXT_CONTAINMENT
) -> dict[str, str]:
    """Each page's group: the first page whose expected text is the same article (word 4-gram containment).

    Judged on the expected texts alone, so the truth the engine is scored against does not come from it.
    """
    grams = [(str(page["id"]), set(word_ngrams(str(page["expected_text"])))) for page in pages]
    group: dict[str, str] = {}
    for n, (key, mine) in enumerate(grams):
        group[key] = key
        for other, theirs in grams[:n]:
            smaller = min(len(mine), len(theirs))
            if group[other] == other and smaller and len(mine & theirs) >= threshold * smaller:
                group[key] = other
                break
    return group


def pair_report(pages: Sequence[dict[str, Any]], decisions: Sequence[Decision]) -> PairReport:
    """Pairs found and false links from the decisions on :func:`pair_payloads` (in that order).

    Pages whose expected texts are the same article (:func:`same_text_groups`: the lorem-ipsum parser
    cases of Readability's test pages) count as one page: linking one's HTML or text to another of the
    group is right; ``text_groups_merged`` says how many pages joined an earlier one's group.
    """
    keys = [str(page["id"]) for page in pages]
    articles = [f"text:{key}" for key in keys] + [f"html:{key}" for key in keys]
    group = same_text_groups(pages)
    merged = sum(1 for key in keys if group[key] != key)
    found = 0
    false_links: list[tuple[str, str]] = []
    rejected: list[tuple[str, str]] = []
    for article, decision in zip(articles, decisions, strict=True):
        kind, _, key = article.partition(":")
        if isinstance(decision, DuplicateArticle):
            other = decision.duplicate_of.partition(":")[2]
            if group.get(other) != group[key]:
                false_links.append((article, decision.duplicate_of))
            elif kind == "html":
                found += 1
        elif isinstance(decision, Rejection):
            rejected.append((article, decision.error))
    return PairReport(len(pages), found, false_links, rejected, merged)
