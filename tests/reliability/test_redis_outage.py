"""Redis outages: down for ten seconds mid-stream (the worker waits), and back without its data (loud)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streams.tools.localstack import start_redis
from streams.tools.synthetic import ALL_COPY_KINDS, generate_stream
from tests.reliability.conftest import (
    Decisions,
    Sender,
    committed_offsets,
    labelled,
    log_text,
    metric,
    report,
    settings_with_redis,
    undecided_below_commit,
    wait_for,
)

pytestmark = pytest.mark.reliability

KINDS = tuple(kind for kind in ALL_COPY_KINDS if kind != "excerpt")  # see test_crash.py
OUTAGE_SECONDS = 10.0
# One client-level retry: the worker's own loop (with its backoff) handles the outage, as it reports it.
FAST_RETRY = {"redis_retries": 1, "redis_backoff_cap_seconds": 1.0}


def test_a_redis_outage_pauses_the_worker_and_loses_nothing(broker, worker_factory, tmp_path: Path):
    """Redis (AOF) is SIGKILLed for 10 s mid-stream and restarted on its port.

    The worker notices (redis_up 0, retries counted, a warning logged), publishes nothing and commits
    nothing it has not decided while Redis is down, and resumes by itself: afterwards every article has
    its one decision, one unique per story, duplicates point at published uniques.
    """
    redis = start_redis(tmp_path / "redis", appendonly=True)
    try:
        settings = settings_with_redis(broker, redis.url, **FAST_RETRY)
        worker = worker_factory(settings)
        port = worker.env["STREAMS_WEB_PORT"]
        articles = [labelled(a) for a in generate_stream(1200, seed=23, kinds=KINDS)]
        sender = Sender(broker.bootstrap, settings.topic_raw)
        decisions = Decisions(broker.bootstrap, settings)
        sender.send([p for p, _ in articles[:600]], stories=[s for _, s in articles[:600]])
        wait_for(lambda: len(decisions.poll()) >= 100, 60, "the first decisions")
        redis.kill()
        down_at = time.monotonic()
        sender.send([p for p, _ in articles[600:]], stories=[s for _, s in articles[600:]])
        wait_for(
            lambda: metric(port, "streams_redis_retries_total") > 0, 30, "the worker to notice the outage"
        )
        assert metric(port, "streams_redis_up") == 0
        # From here the batch in hand waits for Redis; no later batch can overtake it.
        paused_at = len(decisions.catch_up())
        committed = committed_offsets(broker.bootstrap, settings.app_id, settings.topic_raw)
        ahead = undecided_below_commit(committed, sender.sent, decisions.outputs, settings.topic_raw)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        published_while_down = len(decisions.catch_up()) - paused_at
        redis.restart()
        result = decisions.wait_all_decided(sender.sent, timeout=120, settle=2)
        result.name = "redis outage"
        result.notes.append(
            f"{published_while_down} decisions published while Redis was down, "
            f"{len(ahead)} offsets committed before their decision"
        )
        report(result)
        assert result.violating == 0, result.failures()
        assert result.decided == len(articles)
        assert published_while_down == 0
        assert not ahead
        assert "redis unavailable, batch waits" in log_text(worker)
        wait_for(lambda: metric(port, "streams_redis_up") == 1, 30, "redis_up to come back")
        assert worker.running
        decisions.close()
        sender.close()
    finally:
        redis.stop()


def test_redis_back_without_its_data_is_a_loud_index_reset(broker, worker_factory, tmp_path: Path):
    """Redis restarts empty (no AOF): the worker logs INDEX RESET and counts it, and goes on deciding.

    Copies sent after the reset of stories decided before it are unique again (the index forgot them):
    that is the cost of data loss, and the reason it is reported loudly instead of silently.
    """
    redis = start_redis(tmp_path / "redis", appendonly=False)
    try:
        settings = settings_with_redis(broker, redis.url, **FAST_RETRY)
        worker = worker_factory(settings)
        port = worker.env["STREAMS_WEB_PORT"]
        articles = [labelled(a) for a in generate_stream(400, seed=29, kinds=("exact", "recrawl", "edited"))]
        sender = Sender(broker.bootstrap, settings.topic_raw)
        decisions = Decisions(broker.bootstrap, settings)
        before = sender.send([p for p, _ in articles[:200]], stories=[s for _, s in articles[:200]])
        decisions.wait_all_decided(before, timeout=90, settle=0)
        redis.kill()
        redis.restart()  # same port, no AOF: an empty server
        after = sender.send([p for p, _ in articles[200:]], stories=[s for _, s in articles[200:]])
        result = decisions.wait_all_decided(sender.sent, timeout=120, settle=2)
        result.name = "redis restarted empty"
        spanning = {m.story for m in before} & {m.story for m in after}
        across = [
            v for v in result.violations["one_unique_per_story"] if v.split()[1].rstrip(":") in spanning
        ]
        result.notes.append(
            f"{len(across)} stories unique twice across the reset (expected after data loss), "
            f"resets counted {metric(port, 'streams_index_resets_total'):.0f}"
        )
        report(result)
        assert "INDEX RESET" in log_text(worker)
        assert metric(port, "streams_index_resets_total") >= 1
        assert result.decided == len(articles)
        for name in ("one_decision", "duplicate_of_unique", "rejection_complete"):
            assert not result.violations[name], result.failures()
        # Only stories with articles on both sides of the reset can have two uniques.
        assert len(across) == len(result.violations["one_unique_per_story"]), result.failures()
        assert worker.running
        decisions.close()
        sender.close()
    finally:
        redis.stop()
