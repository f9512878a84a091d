"""Stopping a worker mid-stream (SIGTERM), also while Redis is down, and Redis refusing its password.

A stop abandons what it cannot finish: nothing half-published is acknowledged, what was published is
committed, and a new worker decides the rest. The stop times are printed; the tests fail only on a
stop that hangs (the budget itself is the worker's, STREAMS_SHUTDOWN_SECONDS).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

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
from tests.reliability.invariants import match_outputs

pytestmark = pytest.mark.reliability

KINDS = tuple(kind for kind in ALL_COPY_KINDS if kind != "excerpt")  # see test_crash.py
HANG_SECONDS = 60.0


def stop_with_sigterm(worker) -> float:
    """SIGTERM the worker; the seconds it took to exit (fails if it hangs)."""
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(HANG_SECONDS)
    return time.monotonic() - started


def decided_not_committed(committed, sent, outputs, raw_topic) -> int:
    """Messages with a decision at or above the committed offset: published but not committed."""
    matched, _ = match_outputs(sent, outputs, raw_topic)
    return sum(1 for i, s in enumerate(sent) if i in matched and s.offset >= committed.get(s.partition, 0))


def test_sigterm_mid_stream_commits_what_was_published_and_loses_nothing(
    broker, settings_factory, worker_factory
):
    settings = settings_factory()
    worker = worker_factory(settings, name="first")
    articles = [labelled(a) for a in generate_stream(2000, seed=5, kinds=KINDS)]
    sender = Sender(broker.bootstrap, settings.topic_raw)
    decisions = Decisions(broker.bootstrap, settings)
    sender.send([p for p, _ in articles], stories=[s for _, s in articles])
    wait_for(lambda: len(decisions.poll()) >= 200, 120, "the first decisions")
    seconds = stop_with_sigterm(worker)
    assert worker.process.returncode == 0, log_text(worker)[-3000:]
    outputs = decisions.catch_up()
    committed = committed_offsets(broker.bootstrap, settings.app_id, settings.topic_raw)
    ahead = undecided_below_commit(committed, sender.sent, outputs, settings.topic_raw)
    behind = decided_not_committed(committed, sender.sent, outputs, settings.topic_raw)
    stopped_at = len(outputs)

    worker_factory(settings, name="second")
    result = decisions.wait_all_decided(sender.sent, timeout=180, settle=2)
    result.name = "sigterm mid-stream"
    result.notes.append(
        f"stopped in {seconds:.1f}s with {stopped_at} decisions out; {len(ahead)} offsets committed before "
        f"their decision, {behind} decisions published but not committed"
    )
    report(result)
    assert not ahead
    assert behind == 0, "what was published before the stop is committed"
    assert sum(committed.values()) > 0
    assert result.violating == 0, result.failures()
    assert result.decided == len(articles)
    decisions.close()
    sender.close()


def test_sigterm_while_redis_is_down_abandons_the_batch_and_loses_nothing(
    broker, worker_factory, tmp_path: Path
):
    redis_server = start_redis(tmp_path / "redis", appendonly=True)
    try:
        # The default retries: the stop comes while the Redis client itself retries with backoff.
        settings = settings_with_redis(broker, redis_server.url)
        worker = worker_factory(settings, name="first")
        articles = [labelled(a) for a in generate_stream(800, seed=8, kinds=KINDS)]
        sender = Sender(broker.bootstrap, settings.topic_raw)
        decisions = Decisions(broker.bootstrap, settings)
        sender.send([p for p, _ in articles[:400]], stories=[s for _, s in articles[:400]])
        wait_for(lambda: len(decisions.poll()) >= 100, 120, "the first decisions")
        redis_server.kill()
        sender.send([p for p, _ in articles[400:]], stories=[s for _, s in articles[400:]])
        wait_for(
            lambda: metric(worker.env["STREAMS_WEB_PORT"], "streams_redis_up") == 0, 90, "the worker to wait"
        )
        before = len(decisions.catch_up())
        seconds = stop_with_sigterm(worker)
        assert worker.process.returncode == 0, log_text(worker)[-3000:]
        published_while_down = len(decisions.catch_up()) - before
        committed = committed_offsets(broker.bootstrap, settings.app_id, settings.topic_raw)
        ahead = undecided_below_commit(committed, sender.sent, decisions.outputs, settings.topic_raw)

        redis_server.restart()
        worker_factory(settings, name="second")
        result = decisions.wait_all_decided(sender.sent, timeout=180, settle=2)
        result.name = "sigterm while redis is down"
        result.notes.append(
            f"stopped in {seconds:.1f}s, {published_while_down} published while Redis was down"
        )
        report(result)
        assert published_while_down == 0
        assert not ahead
        assert result.violating == 0, result.failures()
        assert result.decided == len(articles)
        decisions.close()
        sender.close()
    finally:
        redis_server.stop()


def test_a_password_changed_under_a_running_worker_is_logged_with_its_reason(
    broker, worker_factory, tmp_path: Path
):
    redis_server = start_redis(tmp_path / "redis", extra_args=["--requirepass", "first"])
    try:
        url = f"redis://:first@127.0.0.1:{redis_server.port}/0"
        settings = settings_with_redis(broker, url, redis_retries=1, redis_backoff_cap_seconds=1)
        worker = worker_factory(settings)
        articles = [labelled(a) for a in generate_stream(300, seed=9, kinds=KINDS)]
        sender = Sender(broker.bootstrap, settings.topic_raw)
        decisions = Decisions(broker.bootstrap, settings)
        sender.send([p for p, _ in articles[:100]])
        wait_for(lambda: len(decisions.poll()) >= 100, 120, "the first decisions")
        admin = redis.Redis(port=redis_server.port, password="first")
        admin.config_set("requirepass", "second")
        admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # its connections
        sender.send([p for p, _ in articles[100:]])
        wait_for(lambda: "redis refused the credentials, batch waits" in log_text(worker), 60, "the reason")
        assert worker.running
        admin.config_set("requirepass", "first")
        admin.close()
        result = decisions.wait_all_decided(sender.sent, timeout=120, settle=1)
        assert result.decided == len(articles)
        line = next(x for x in log_text(worker).splitlines() if "redis refused the credentials" in x)
        assert "WRONGPASS" in line or "invalid" in line.lower(), line
        decisions.close()
        sender.close()
    finally:
        redis_server.stop()
