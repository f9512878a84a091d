"""The README's command examples, run as written, against real servers (one-line errors included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli import sample_path
from streams.tools.localstack import create_topics, start_redis
from tests.commands import streams

pytestmark = pytest.mark.integration


def test_eval_runs_on_the_bundled_sample_by_default():
    """`streams eval --baseline` as in the README: the clone has its data."""
    run = streams("eval", "--baseline", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(run.stdout)
    assert figures["streams"]["f1"] == 1.0
    assert figures["streams"]["precision"] == 1.0
    assert set(figures) == {"streams", "naive word-5 MinHashLSH@0.8", "datasketch used well"}
    # The same recipe used well decides as the naive one.
    naive, well = figures["naive word-5 MinHashLSH@0.8"], figures["datasketch used well"]
    assert {k: v for k, v in well.items() if k != "articles_per_second"} == {
        k: v for k, v in naive.items() if k != "articles_per_second"
    }


def test_dedup_against_the_redis_of_streams_redis_url(redis_url, tmp_path: Path):
    output = tmp_path / "out.jsonl"
    run = streams(
        "dedup", "--input", str(sample_path()), "--output", str(output),
        STREAMS_REDIS_URL=redis_url, STREAMS_NAMESPACE=f"cli-{tmp_path.name}",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(output.read_text().splitlines()) == len(sample_path().read_text().splitlines())


def test_a_refused_redis_password_is_one_line_exit_1(tmp_path: Path):
    with start_redis(tmp_path / "redis", extra_args=["--requirepass", "right"]) as server:
        run = streams("eval", "--redis-url", f"redis://:wrong@127.0.0.1:{server.port}/0")
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"Redis at redis://:***@127.0.0.1:{server.port}/0 refused the credentials (invalid username-password "
        "pair or user is disabled.): check the user and password in STREAMS_REDIS_URL or --redis-url"
    ]


def test_produce_publishes_a_file(broker):
    """Into a topic that exists, as the worker's topics do (Apache Kafka here creates none on demand)."""
    create_topics(broker.bootstrap, ["cli-produce.raw"], partitions=1)
    run = streams("produce", str(sample_path()), "--topic", "cli-produce.raw", STREAMS_BROKER=broker.url)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (
        f"{len(sample_path().read_text().splitlines())} delivered to cli-produce.raw, 0 skipped" in run.stdout
    )
