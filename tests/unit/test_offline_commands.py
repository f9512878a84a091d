"""``streams dedup`` and ``streams eval`` without STREAMS_REDIS_URL: an index in memory, nothing started
(subprocesses, as a user runs them)."""

from __future__ import annotations

import json
from pathlib import Path

from streams.cli import sample_path
from streams.tools import synthetic
from tests.commands import streams


def test_dedup_runs_on_an_index_in_memory_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "decisions.jsonl"
    run = streams("dedup", "--input", str(sample_path()), "--output", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "index: in memory (STREAMS_REDIS_URL not set)" in run.stdout
    lines = [line for line in sample_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    decisions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(decisions) == len(lines)
    assert {d["status"] for d in decisions} >= {"unique", "duplicate"}


def test_eval_runs_on_an_index_in_memory_and_says_so(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    synthetic.write_jsonl(
        synthetic.generate_stream(40, duplicate_share=0.4, seed=5, words=(80, 160)), labelled
    )
    run = streams("eval", "--input", str(labelled), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "index: in memory" in run.stderr
    figures = json.loads(run.stdout)["streams"]
    assert figures["articles"] == 40 and figures["precision"] == 1.0
