"""The bench report's two renderers (rich tables, Markdown) show the same tables, built once per part."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.tools.bench import (
    markdown_report,
    merge_stage_metrics,
    paced,
    page_items,
    report_tables,
    stage_delta,
    target_rows,
)

Parsed = list[tuple[list[str], list[list[str]]]]


def _run(workers: int, rate: float, p99: float) -> dict[str, Any]:
    return {
        "workers": workers,
        "max_rate": {
            "articles": 500,
            "decided": 500,
            "articles_per_s": rate,
            "latency_ms": {"p50": 410.0, "p95": 620.0, "p99": 700.0, "max": 733.0 + workers},
            "cpu_us_per_article": {
                "workers": 3850.0 + workers,
                "broker": 210.0,
                "redis": 145.0,
                "bench_producer_and_reader": 98.0,
            },
            "cpu_share_of_machine": 0.49 + workers / 100,
        },
        "half_rate": {
            "decided": 120 + workers,
            "articles_per_s": rate / 2,
            "latency_ms": {"p50": 12.0, "p95": 40.0, "p99": p99, "max": 90.0},
        },
        "worker_stage_us_per_article": {
            "parse": 60.4 + workers,
            "fingerprint": 349.6,
            "index": 553.7,
            "publish": 333.3,
        },
    }


def full_report() -> dict[str, Any]:
    """A hand-written report with every part, two end-to-end runs and targets met, missed and unmeasured."""
    report: dict[str, Any] = {
        "end_to_end": {"workers_1": _run(1, 1234.0, 57.0), "workers_2": _run(2, 1876.0, 61.0)},
        "stages": {
            "us_per_article": {
                "parse": 23.5,
                "clean_text": 144.3,
                "fingerprint": 199.7,
                "encode_decision": 5.3,
            }
        },
        "index_memory": {
            "articles": 500,
            "unique_articles": 350,
            "bytes_per_article": 812.4,
            "bytes_per_unique_article": 1160.6,
            "round_trips_per_article": 0.0156,
            "script_calls_per_article": 0.0156,
            "commands_per_article_incl_script_calls": 95.43,
            "index_us_per_article": 182.64,
            "calls_per_article": {"hget": 51.17, "hset": 43.18, "evalsha": 0.0156},
        },
        "growth": {
            "index_capacity": 2000,
            "points": [
                {
                    "indexed_articles": 1000,
                    "index_us_per_article": 214.9,
                    "batch_us_per_article": {"p50": 202.2, "p99": 489.2},
                    "redis_us_per_article": 168.5,
                    "redis_bytes_per_article": 1092.0,
                    "band_evictions": 0,
                },
                {
                    "indexed_articles": 2000,
                    "index_us_per_article": 42.9,
                    "batch_us_per_article": {"p50": 40.0, "p99": 79.7},
                    "redis_bytes_per_article": 1004.0,
                },
            ],
        },
        "baseline": {
            "naive": {
                "articles": 50,
                "articles_per_s": 176.0,
                "bytes_per_article": 12952.0,
                "round_trips_per_article": 30.04,
                "commands_per_article_incl_script_calls": 29.4,
            },
            "well_used": {
                "articles": 50,
                "articles_per_s": 534.0,
                "bytes_per_article": 12952.0,
                "round_trips_per_article": 17.1,
                "commands_per_article_incl_script_calls": 29.4,
            },
            "streams": {
                "articles": 50,
                "articles_per_s": 1602.0,
                "bytes_per_article": 1008.0,
                "round_trips_per_article": 0.04,
                "commands_per_article_incl_script_calls": 104.6,
            },
            "ratios": {
                "offline_throughput_x": 9.1,
                "memory_naive_over_streams_x": 12.9,
                "offline_throughput_vs_well_used_x": 3.1,
            },
        },
    }
    report["targets"] = target_rows(report)
    return report


def skipped_report() -> dict[str, Any]:
    """The full report with parts 1, 4 and 5 skipped, as ``--skip-e2e --skip-growth --skip-baseline``."""
    report = full_report()
    for part in ("end_to_end", "growth", "baseline"):
        report[part] = {"skipped": True}
    report["targets"] = target_rows(report)
    return report


def rich_text(table: Table) -> str:
    console = Console(record=True, width=300, file=io.StringIO())
    console.print(table)
    return console.export_text()


def parse_rich(tables: list[Table]) -> Parsed:
    """Header and body cells of each rendered rich table (heavy head, light body box)."""
    parsed = []
    for table in tables:
        lines = rich_text(table).splitlines()
        header = [[c.strip() for c in line.split("┃")[1:-1]] for line in lines if line.startswith("┃")]
        rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
        assert len(header) == 1, lines
        parsed.append((header[0], rows))
    return parsed


def parse_markdown(text: str) -> Parsed:
    """Header and body cells of each Markdown table, a missed target's bold taken off."""
    parsed = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines[0].startswith("| "):
            continue
        cells = [[c.strip().replace("**no**", "no") for c in line.split("|")[1:-1]] for line in lines]
        assert set(lines[1]) <= set("|-:"), block
        parsed.append((cells[0], cells[2:]))
    return parsed


def test_both_renderers_show_the_same_cells_for_every_part():
    """Every table, header and cell of the full report is the same in the rich tables and the Markdown."""
    report = full_report()
    rich, md = parse_rich(report_tables(report)), parse_markdown(markdown_report(report))
    assert rich == md
    assert [header[0] for header, _ in md] == ["workers", "workers", "stage", "articles", "indexed articles",
                                               "pipeline", "target"]  # fmt: skip


def test_every_part_shows_the_numbers_of_the_report():
    """Each part's table carries the report's values, formatted, in the order of the report."""
    report = full_report()
    tables = {header[0] + "/" + header[1]: rows for header, rows in parse_markdown(markdown_report(report))}
    assert tables["workers/run"] == [
        ["1", "flood (max rate)", "500", "1,234", "410", "620", "700", "734"],
        ["1", "paced at half", "121", "617", "12", "40", "57", "90"],
        ["2", "flood (max rate)", "500", "1,876", "410", "620", "700", "735"],
        ["2", "paced at half", "122", "938", "12", "40", "61", "90"],
    ]
    assert tables["workers/worker(s)"] == [["1", "3,851", "210", "145", "98", "50%"],
                                           ["2", "3,852", "210", "145", "98", "51%"]]  # fmt: skip
    # The worker's column is the 1-worker run's histograms (61.4 = 60.4 + 1), not the 2-worker one's.
    assert tables["stage/us/article"] == [
        ["parse", "23.5", "61"],
        ["clean_text", "144.3", "-"],
        ["fingerprint", "199.7", "350"],
        ["encode_decision", "5.3", "-"],
        ["index (Redis, one round trip per batch)", "182.6", "554"],
        ["publish (send, wait for the broker's acks)", "-", "333"],
    ]
    assert tables["articles/unique"] == [["500", "350", "812", "1,161", "0.0156", "0.016", "95.4"]]
    assert tables["indexed articles/index us/article"] == [
        ["1,000", "214.9", "202.2", "489.2", "168.5", "1,092", "0"],
        ["2,000", "42.9", "40.0", "79.7", "-", "1,004", "-"],  # a report from before the band table
    ]
    assert tables["pipeline/articles/s"] == [
        ["naive: datasketch + its Redis storage", "176", "12,952", "30.040", "29.4"],
        ["datasketch used well + its Redis storage", "534", "12,952", "17.100", "29.4"],
        ["streams engine, one process", "1,602", "1,008", "0.040", "104.6"],
    ]
    met = {row[0]: row[1:] for row in tables["target/goal"]}
    assert met["end to end, 1 worker (articles/s)"] == [">= 1,000", "1,234.0", "yes"]
    assert met["end to end, 2 workers (articles/s)"] == [">= 2,000", "1,876.0", "no"]
    assert met["index cost at largest / smallest size"] == ["<= 1.5", "-", "-"]
    # Each ratio against the naive pipeline has its twin against datasketch used well.
    assert met["throughput / naive baseline, both in one process"] == [">= 10", "9.1", "no"]
    assert met["throughput / datasketch used well, both in one process"] == [">= 5", "3.0", "no"]
    assert met["end-to-end max rate / datasketch used well"] == [">= 5", "3.5", "no"]


def test_notes_and_the_met_column_in_both_renderers():
    """The calls and ratios lines are under their tables in both; a met target is green in rich, a miss
    red, and a miss is bold in Markdown."""
    report = full_report()
    md = markdown_report(report)
    tables = report_tables(report)
    rich = " ".join(" ".join(rich_text(t).split()) for t in tables)
    for note in ("Calls per article: hget 51.17, hset 43.18, evalsha 0.0156.",
                 "Ratios: offline throughput x 9.1, memory naive over streams x 12.9, "
                 "offline throughput vs well used x 3.1."):  # fmt: skip
        assert f"\n\n{note}" in md
        assert note in rich
    met = list(tables[-1].columns[-1].cells)
    assert "[green]yes[/green]" in met and "[red]no[/red]" in met and "-" in met
    assert "| **no** |" in md and "| yes |" in md


def test_a_skipped_part_is_absent_from_both_renderers():
    """With parts 1, 4 and 5 skipped, neither renderer shows their tables; the others are still alike."""
    report = skipped_report()
    md = markdown_report(report)
    tables = report_tables(report)
    rich, parsed = parse_rich(tables), parse_markdown(md)
    assert rich == parsed
    assert [header[0] for header, _ in parsed] == ["stage", "articles", "target"]
    titles = " ".join(str(t.title) for t in tables)
    for absent in ("1. End to end", "CPU per article", "4. ", "5. ", "Ratios:"):
        assert absent not in md
        assert absent not in titles
    stages = parsed[0][1]
    assert [row[2] for row in stages] == ["-"] * len(stages)
    assert all(
        row[3] == "-"
        for row in parsed[2][1]
        if "end to end" in row[0] or "baseline" in row[0] or "used well" in row[0]
    )


def test_an_empty_report_has_no_tables():
    """A report without any part renders no table in either renderer."""
    assert report_tables({}) == []
    assert markdown_report({}) == "\n"


def test_paced_yields_every_item_once_in_order() -> None:
    items = [f"article-{i}" for i in range(50)]
    assert list(paced(items, rate=1e9)) == items
    assert list(paced([], rate=1.0)) == []


def test_runs_on_both_brokers_get_a_broker_column_in_both_renderers():
    """`--broker both`: each run's row names its broker, the CPU table too; the targets take tansu's runs."""
    kafka_1, kafka_2 = _run(1, 900.0, 80.0), _run(2, 1500.0, 90.0)
    for run in (kafka_1, kafka_2):
        run["broker"] = "kafka"
        run["max_rate"]["cpu_us_per_article"]["broker"] = 420.0
    report = full_report()
    report["end_to_end"].update({"kafka_workers_1": kafka_1, "kafka_workers_2": kafka_2})
    rich, md = parse_rich(report_tables(report)), parse_markdown(markdown_report(report))
    assert rich == md
    tables = {header[0] + "/" + header[2]: rows for header, rows in md}
    assert [row[:3] for row in tables["workers/run"]] == [
        ["1", "tansu", "flood (max rate)"],
        ["1", "tansu", "paced at half"],
        ["2", "tansu", "flood (max rate)"],
        ["2", "tansu", "paced at half"],
        ["1", "kafka", "flood (max rate)"],
        ["1", "kafka", "paced at half"],
        ["2", "kafka", "flood (max rate)"],
        ["2", "kafka", "paced at half"],
    ]
    assert [row[:4] for row in tables["workers/worker(s)"]] == [
        ["1", "tansu", "3,851", "210"],
        ["2", "tansu", "3,852", "210"],
        ["1", "kafka", "3,851", "420"],
        ["2", "kafka", "3,852", "420"],
    ]
    measured = {row["target"]: row["measured"] for row in target_rows(report)}
    assert measured["end to end, 1 worker (articles/s)"] == 1234.0


def html_report() -> dict[str, Any]:
    """The full report with an end-to-end run on HTML pages (1 worker), slower and with a worse p99."""
    report = full_report()
    html_run = _run(1, 95.0, 480.0)
    html_run["max_rate"]["decided"] = 300
    html_run["max_rate"]["cpu_us_per_article"]["workers"] = 9870.0
    html_run["worker_stage_us_per_article"] = {"parse": 910.0, "clean_html": 5120.0, "index": 640.0}
    report["end_to_end_html"] = {
        "source": "300 copies of 120 real pages",
        "pages": 300,
        "workers_1": html_run,
    }
    report["targets"] = target_rows(report)
    return report


def test_html_runs_get_an_input_column_beside_the_text_runs_in_both_renderers():
    """The HTML pages' runs follow the articles' in part 1 and its CPU table, named by an input column;
    part 2 gets the worker's histograms of the HTML flood as a column of its own; the targets stay on text."""
    report = html_report()
    rich, md = parse_rich(report_tables(report)), parse_markdown(markdown_report(report))
    assert rich == md
    tables = {header[0] + "/" + header[2]: (header, rows) for header, rows in md}
    header, rows = tables["workers/run"]
    assert header == [
        "workers",
        "input",
        "run",
        "decided",
        "per second",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
    ]
    assert [row[:5] for row in rows] == [
        ["1", "text articles", "flood (max rate)", "500", "1,234"],
        ["1", "text articles", "paced at half", "121", "617"],
        ["2", "text articles", "flood (max rate)", "500", "1,876"],
        ["2", "text articles", "paced at half", "122", "938"],
        ["1", "HTML pages", "flood (max rate)", "300", "95"],
        ["1", "HTML pages", "paced at half", "121", "48"],
    ]
    assert [row[:3] for row in tables["workers/worker(s)"][1]] == [
        ["1", "text articles", "3,851"],
        ["2", "text articles", "3,852"],
        ["1", "HTML pages", "9,870"],
    ]
    header, stages = tables["stage/in the worker"]
    assert header == ["stage", "us/article", "in the worker", "in the worker, HTML pages"]
    assert stages[0] == ["parse", "23.5", "61", "910"]
    assert stages[-1] == ["publish (send, wait for the broker's acks)", "-", "333", "-"]
    assert "\n\nHTML pages: 300 copies of 120 real pages.\n\n" in markdown_report(report)
    titles = " ".join(str(t.title) for t in report_tables(report))
    assert "CPU per input (article or page) during the flood" in titles
    measured = {row["target"]: row["measured"] for row in report["targets"]}
    assert measured["end to end, 1 worker (articles/s)"] == 1234.0
    assert measured["p99 latency at half the max rate (ms)"] == 61.0


def test_page_items_repeat_the_pages_under_new_ids_and_urls(tmp_path: Path):
    """Every copy of a page has its own id and URL; a page too long for the message limit is left out."""
    pages = tmp_path / "pages.jsonl"
    lines = [{"html": f"<p>{name} {'x' * size}</p>", "expected_text": name}
             for name, size in (("first", 10), ("second", 5000), ("third", 20))]  # fmt: skip
    pages.write_text("".join(json.dumps(line) + "\n" for line in lines))
    items = page_items(pages, 7, prefix="html", max_payload_bytes=1000)
    assert len({i.article_id for i in items}) == len({i.key for i in items}) == 7
    bodies = [json.loads(i.payload) for i in items]
    assert len({b["url"] for b in bodies}) == 7
    assert [b["html"].split()[0] for b in bodies] == ["<p>first", "<p>third"] * 3 + ["<p>first"]
    assert all(i.is_html for i in items)
    assert len(page_items(pages, 3)) == 3 and "second" in page_items(pages, 3)[1].payload.decode()


def test_stage_delta_leaves_out_what_the_histograms_held_before():
    """The warm-up's share of a worker's histograms is taken off; a stage first seen after counts whole."""
    before = {"parse": (0.5, 40.0), "index": (1.0, 40.0)}
    after = {"parse": (2.5, 140.0), "index": (1.0, 40.0), "clean_html": (3.0, 100.0)}
    delta = stage_delta(after, before)
    assert delta == {"parse": (2.0, 100.0), "index": (0.0, 0.0), "clean_html": (3.0, 100.0)}
    assert merge_stage_metrics([delta]) == {"clean_html": 30000.0, "parse": 20000.0}


def test_the_baseline_run_as_a_worker_gets_rows_a_ratio_and_a_target_beside_the_workers():
    """Datasketch used well as a worker: a flood row and a CPU row per run after the workers', named by a
    pipeline column; each worker count over its twin with as many processes is a ratio, the smallest the
    target; a count without a twin has no ratio."""
    from streams.tools.bench import BASELINE_WORKER, baseline_ratios

    report = full_report()
    twin = _run(1, 240.0, 0.0)
    del twin["half_rate"], twin["worker_stage_us_per_article"]
    twin["pipeline"] = BASELINE_WORKER
    report["end_to_end_well_used"] = {"workers_1": twin}
    baseline = report["baseline"]
    ratios = baseline_ratios(report, baseline["naive"], baseline["streams"], baseline["well_used"])
    assert ratios["e2e_workers_1_vs_well_used_worker_x"] == round(1234.0 / 240.0, 1)
    assert "e2e_workers_2_vs_well_used_worker_x" not in ratios
    rich, md = parse_rich(report_tables(report)), parse_markdown(markdown_report(report))
    assert rich == md
    tables = {header[0] + "/" + header[2]: (header, rows) for header, rows in md}
    header, rows = tables["workers/run"]
    assert header[:3] == ["workers", "pipeline", "run"]
    assert [row[:4] for row in rows] == [
        ["1", "streams", "flood (max rate)", "500"],
        ["1", "streams", "paced at half", "121"],
        ["2", "streams", "flood (max rate)", "500"],
        ["2", "streams", "paced at half", "122"],
        ["1", BASELINE_WORKER, "flood (max rate)", "500"],
    ]
    assert [row[:3] for row in tables["workers/worker(s)"][1]] == [
        ["1", "streams", "3,851"],
        ["2", "streams", "3,852"],
        ["1", BASELINE_WORKER, "3,851"],
    ]
    assert "as many processes as workers" in markdown_report(report)
    met = {row["target"]: row for row in target_rows(report)}
    row = met["end-to-end max rate / datasketch used well as a worker"]
    assert (row["goal"], row["measured"], row["met"]) == (5.0, 1234.0 / 240.0, True)
    unmeasured = {r["target"]: r["measured"] for r in target_rows(full_report())}
    assert unmeasured["end-to-end max rate / datasketch used well as a worker"] is None
