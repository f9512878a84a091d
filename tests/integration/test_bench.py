"""`streams bench` runs end to end on a tiny input and reports every part (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.tools.bench import e2e_key
from tests.conftest import session_broker_kind

pytestmark = pytest.mark.integration

PARTS = ("end_to_end", "stages", "index_memory", "growth", "baseline")


def test_bench_reports_all_five_parts(tmp_path: Path):
    """A small run through a real broker (the session's kind), Redis and a worker writes a JSON report
    with all five parts, HTML pages end to end and datasketch used well run as a worker on the flood."""
    output = tmp_path / "bench.json"
    broker = session_broker_kind()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    command = [sys.executable, "-m", "streams", "bench", "--articles", "120", "--workers", "1",
               "--paced-seconds", "2", "--growth-points", "200,400", "--baseline-articles", "40",
               "--html-pages", "30", "--broker", broker, "--json", "--output", str(output)]  # fmt: skip
    run = subprocess.run(command, env=env, capture_output=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
    report = json.loads(output.read_text())
    assert json.loads(run.stdout) == report
    for part in PARTS:
        assert report[part] and "skipped" not in report[part], part
    run = report["end_to_end"][e2e_key(broker, 1)]
    assert run["broker"] == broker
    assert run["max_rate"]["decided"] == run["max_rate"]["articles"] == 120
    assert run["half_rate"]["decided"] > 0
    html = report["end_to_end_html"][e2e_key(broker, 1)]
    assert (
        html["max_rate"]["decided"]
        == html["max_rate"]["articles"]
        == report["end_to_end_html"]["pages"]
        == 30
    )
    assert html["half_rate"]["decided"] > 0
    # datasketch used well run as a worker, on the same flood.
    twin = report["end_to_end_well_used"][e2e_key(broker, 1)]
    assert twin["max_rate"]["decided"] == twin["max_rate"]["articles"] == 120
    assert twin["max_rate"]["cpu_us_per_article"]["workers"] > 0
    assert "half_rate" not in twin
    assert f"e2e_{e2e_key(broker, 1)}_vs_well_used_worker_x" in report["baseline"]["ratios"]
    assert html["max_rate"]["cpu_us_per_article"]["workers"] > 0
    assert html["worker_stage_us_per_article"]["clean_html"] > 0
    assert set(report["stages"]["us_per_article"]) >= {"parse", "clean_text", "clean_html", "fingerprint"}
    assert report["stages"]["per_second_one_core"]["html"] > 0
    assert report["index_memory"]["bytes_per_article"] > 0
    assert report["index_memory"]["round_trips_per_article"] < 1
    assert [p["indexed_articles"] for p in report["growth"]["points"]] == [200, 400]
    assert report["baseline"]["naive"]["articles_per_s"] > 0
    assert report["baseline"]["well_used"]["duplicates"] == report["baseline"]["naive"]["duplicates"]
    assert "offline_throughput_vs_well_used_x" in report["baseline"]["ratios"]
    assert {row["target"] for row in report["targets"]}
