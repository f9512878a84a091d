"""The developers' commands: ``streams dev``, ``streams eval`` (``streams bench`` is in :mod:`.bench`).

The ``streams`` command line loads this module only when one of them runs (they need the ``tools``
extra); they share the service commands' options, settings loading and one-line errors
(:mod:`streams.cli`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

import click
from rich.table import Table

from streams.cli import (
    EXISTING_FILE,
    console,
    decide_offline,
    explained_errors,
    index_label,
    index_redis_url,
    load_settings,
    notes,
    quiet_clients,
    read_jsonl_lines,
    redis_url_option,
    run_async,
    sample_path,
    strip_labels,
)
from streams.models import Decision, DuplicateArticle
from streams.settings import HtmlExtractor, Settings
from streams.tools.evaluation import NaivePipeline, Outcome, Scores, WellUsedPipeline, naive_text, score
from streams.tools.localdev import run_dev
from streams.tools.localstack import BROKER_KINDS, BrokerKind
from streams.tools.pages import (
    measure_extractor,
    pair_payloads,
    pair_report,
    read_pages,
    streams_extractor,
    trafilatura_extract,
)


def outcome_of(decision: Decision) -> Outcome:
    article_id = decision.id or ""
    if isinstance(decision, DuplicateArticle):
        return Outcome(article_id, "duplicate", decision.duplicate_of)
    return Outcome(article_id, decision.status)


def run_baseline(lines: Sequence[bytes], well_used: bool = False) -> tuple[list[Outcome], float]:
    """The naive datasketch pipeline (or the same recipe used well) over the same inputs, in memory."""
    pipeline = WellUsedPipeline() if well_used else NaivePipeline()
    outcomes = []
    started = time.perf_counter()
    for i, line in enumerate(lines):
        try:
            article = json.loads(line)
        except ValueError:
            outcomes.append(Outcome(f"line-{i}", "rejected"))
            continue
        outcomes.append(pipeline.decide(str(article.get("id") or f"line-{i}"), naive_text(article)))
    return outcomes, time.perf_counter() - started


def scores_table(rows: list[tuple[str, Scores]]) -> Table:
    table = Table(title="Duplicate decisions against the labels")
    table.add_column("pipeline")
    for name in ("precision", "recall", "F1", "ARI", "canonical", "FP", "articles/s"):
        table.add_column(name, justify="right")
    for name, s in rows:
        fps = sum(s.false_positives_by_kind.values())
        table.add_row(
            name,
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
            f"{s.ari:.3f}",
            f"{s.canonical_accuracy:.3f}",
            str(fps),
            f"{s.articles_per_second:,.0f}",
        )
    return table


def kinds_table(rows: list[tuple[str, Scores]]) -> Table:
    table = Table(title="Recall by kind of copy (false positives by kind)")
    table.add_column("kind")
    table.add_column("copies", justify="right")
    for name, _ in rows:
        table.add_column(f"{name} recall", justify="right")
        table.add_column(f"{name} FP", justify="right")
    kinds = sorted({k for _, s in rows for k in (*s.count_by_kind, *s.false_positives_by_kind)})
    for kind in kinds:
        cells = [kind, str(rows[0][1].count_by_kind.get(kind, 0))]
        for _, s in rows:
            recall = s.recall_by_kind.get(kind)
            cells += ["-" if recall is None else f"{recall:.3f}", str(s.false_positives_by_kind.get(kind, 0))]
        table.add_row(*cells)
    return table


@click.command()
@click.option(
    "--input",
    "input_path",
    type=EXISTING_FILE,
    default=None,
    help="JSONL articles to feed [default: the bundled sample articles].",
)
@click.option("--workers", type=click.IntRange(1, 4), default=1, show_default=True, help="Worker processes.")
@click.option("--keep-running", is_flag=True, help="Keep the stack up after the summary until Ctrl-C.")
@click.option(
    "--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for decisions."
)
@click.option(
    "--broker",
    "broker_kind",
    type=click.Choice(BROKER_KINDS),
    default="tansu",
    show_default=True,
    help="Broker to start: the embedded tansu, or Apache Kafka (jars fetched with Maven once).",
)
def dev(
    input_path: Path | None, workers: int, keep_running: bool, timeout: float, broker_kind: BrokerKind
) -> None:
    """The whole pipeline on this machine: broker, Redis and workers on free ports, the sample articles.

    Prints a summary of the decisions and stops everything it started; Ctrl-C (or SIGTERM) stops it at
    any time, a second Ctrl-C at once. Its logs are removed, or kept (path printed) when it failed.
    """
    settings = load_settings()
    quiet_clients()
    with explained_errors(settings):
        run_dev(
            settings,
            input_path or sample_path(),
            with_bad_inputs=input_path is None,
            workers=workers,
            keep_running=keep_running,
            timeout=timeout,
            console=console,
            broker_kind=broker_kind,
        )


@click.command("eval")
@click.option(
    "--input",
    "input_path",
    type=EXISTING_FILE,
    default=None,
    help="Labelled JSONL (label_cluster, label_kind) [default: the bundled sample articles].",
)
@click.option(
    "--pages",
    "pages_path",
    type=EXISTING_FILE,
    default=None,
    help="Pages with html and expected_text (JSONL or .jsonl.gz): HTML extraction quality instead.",
)
@click.option(
    "--pairs",
    is_flag=True,
    help="With --pages: each page as text and as HTML through the engine; pairs found, false links.",
)
@click.option("--all-extractors", is_flag=True, help="With --pages: every STREAMS_HTML_EXTRACTOR value.")
@click.option("--baseline", is_flag=True, help="Also run the datasketch baselines (naive, used well) beside.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of tables.")
@redis_url_option()
def evaluate(
    input_path: Path | None,
    pages_path: Path | None,
    pairs: bool,
    all_extractors: bool,
    baseline: bool,
    as_json: bool,
    redis_url: str | None,
) -> None:
    """Precision, recall, per-kind recall, ARI and speed of the rule on labelled data; or, with --pages,
    HTML extraction quality and the HTML-vs-text pair check on real pages."""
    settings = load_settings()
    quiet_clients()
    if input_path is not None and pages_path is not None:
        raise click.UsageError(
            "give one of --input (labelled articles) or --pages (pages with expected text)"
        )
    if pages_path is not None:
        with explained_errors(settings, redis_url):
            evaluate_pages(settings, pages_path, pairs, all_extractors, as_json, redis_url)
        return
    input_path = input_path or sample_path()
    pairs_of_lines = [strip_labels(line) for line in read_jsonl_lines(input_path)]
    if any(labels is None for _, labels in pairs_of_lines):
        raise click.UsageError(f"{input_path}: every line needs label_cluster (and label_kind)")
    lines = [p for p, _ in pairs_of_lines]
    labels = [lab for _, lab in pairs_of_lines if lab is not None]
    namespace = f"eval-{uuid.uuid4().hex[:12]}"
    with explained_errors(settings, redis_url):
        url = index_redis_url(settings, redis_url)
        decisions, elapsed = run_async(
            decide_offline(settings, url, lines, namespace=namespace, fresh=True, show_progress=not as_json)
        )
    rows = [("streams", score(labels, [outcome_of(d) for d in decisions], elapsed))]
    if baseline:
        outcomes, base_elapsed = run_baseline(lines)
        rows.append(("naive word-5 MinHashLSH@0.8", score(labels, outcomes, base_elapsed)))
        outcomes, base_elapsed = run_baseline(lines, well_used=True)
        rows.append(("datasketch used well", score(labels, outcomes, base_elapsed)))
    if as_json:
        notes.print(index_label(url))
        print(json.dumps({name: s.as_dict() for name, s in rows}, indent=2))
        return
    console.print(scores_table(rows))
    console.print(kinds_table(rows))
    console.print(index_label(url))


def evaluate_pages(
    settings: Settings,
    pages_path: Path,
    pairs: bool,
    all_extractors: bool,
    as_json: bool,
    redis_url: str | None,
) -> None:
    """``streams eval --pages``: extraction quality, the default extractor beside trafilatura's."""
    try:
        pages = read_pages(pages_path)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    default = settings.html_extractor
    names = [default] + ([n for n in get_args(HtmlExtractor) if n != default] if all_extractors else [])
    candidates = [(f"streams, {name}", streams_extractor(name, settings.max_text_chars)) for name in names]
    candidates.append(("trafilatura.extract(html)", trafilatura_extract))
    rows = []
    for name, extract in candidates:
        if not as_json:
            notes.print(f"[dim]extracting {len(pages)} pages with {name}[/dim]")
        rows.append((name, measure_extractor(extract, pages)))
    result: dict[str, Any] = {"extraction": {name: s.as_dict() for name, s in rows}}
    report = None
    if pairs:
        url = index_redis_url(settings, redis_url)
        decisions, _ = run_async(
            decide_offline(
                settings,
                url,
                pair_payloads(pages),
                namespace=f"pairs-{uuid.uuid4().hex[:12]}",
                fresh=True,
                show_progress=not as_json,
            )
        )
        report = pair_report(pages, decisions)
        result["pairs"] = report.as_dict()
    if as_json:
        print(json.dumps(result, indent=2))
        return
    table = Table(title=f"HTML extraction against expected text ({len(pages)} pages, word 4-grams)")
    table.add_column("extractor", no_wrap=True)
    for column in ("F1", "P", "R", "median ms", "median CPU ms"):
        table.add_column(column, justify="right")
    for name, s in rows:
        table.add_row(
            name,
            f"{s.f1:.3f}",
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.median_ms:.1f}",
            f"{s.median_cpu_ms:.1f}",
        )
    console.print(table)
    if report is not None:
        console.print(
            f"HTML-vs-text pairs: {report.pairs_found}/{report.pages} found ({report.found_share:.1%}), "
            f"{len(report.false_links)} false links, {len(report.rejected)} rejected "
            f"({report.text_groups_merged} pages share another page's expected text, counted as one page)"
        )
        for article, other in report.false_links:
            console.print(f"  false link: {article} -> {other}")
        for article, error in report.rejected:
            console.print(f"  rejected: {article} ({error})")
