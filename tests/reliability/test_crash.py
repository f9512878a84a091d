"""Crash: workers are SIGKILLed at random moments while articles flow, restarted, and the stream drained."""

from __future__ import annotations

import random
import threading
import time

import pytest

from streams.tools.synthetic import ALL_COPY_KINDS, generate_stream
from tests.reliability.conftest import (
    Decisions,
    Sender,
    committed_offsets,
    labelled,
    orphaned_children,
    report,
    undecided_below_commit,
    wait_for,
)

pytestmark = pytest.mark.reliability

# Excerpts are left out: an excerpt matches its original only one way (containment of the later in the
# earlier), so when partitions reorder a story two copies can both be first. That is the documented
# "canonical = first decided" limit, not a reliability fault; every other kind matches both ways.
KINDS = tuple(kind for kind in ALL_COPY_KINDS if kind != "excerpt")
ARTICLES = 2500
KILLS = 6


def wait_until_deciding(decisions: Decisions, limit: float = 15.0) -> None:
    """Return once decisions are being published (new records within half a second), or after ``limit``."""
    deadline = time.monotonic() + limit
    seen = len(decisions.poll(0.1))
    while time.monotonic() < deadline:
        now = len(decisions.poll(0.5))
        if now > seen:
            return
        seen = now


def test_sigkilled_workers_lose_nothing_and_decide_nothing_twice(broker, settings_factory, worker_factory):
    """Two workers, six SIGKILLs at random moments mid-stream, each followed by a restart.

    After the drain every article has a decision (repeats from redelivery identical, byte for byte),
    no story has two uniques, every duplicate points at a published unique; and at each kill the
    group's committed offsets never ran ahead of the decisions on the output topics.
    """
    rng = random.Random(20260501)
    settings = settings_factory()
    workers = [worker_factory(settings, name="w1"), worker_factory(settings, name="w2")]
    articles = [labelled(a) for a in generate_stream(ARTICLES, seed=11, kinds=KINDS)]
    sender = Sender(broker.bootstrap, settings.topic_raw)
    decisions = Decisions(broker.bootstrap, settings)

    stop = threading.Event()

    def flow() -> None:
        # About 25 s of traffic in bursts: the kills below land while articles are in flight.
        for start in range(0, len(articles), 100):
            if stop.is_set():
                return
            chunk = articles[start : start + 100]
            sender.send([p for p, _ in chunk], stories=[s for _, s in chunk])
            time.sleep(1.0)

    producer = threading.Thread(target=flow, name="flow")
    producer.start()
    commits_ahead = []
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(1.0, 4.0))
            wait_until_deciding(decisions)
            victim = rng.choice(workers)
            victim.kill()
            # Commit before decision would show now: an offset committed whose message has no decision.
            committed = committed_offsets(broker.bootstrap, settings.app_id, settings.topic_raw)
            commits_ahead += undecided_below_commit(
                committed, list(sender.sent), decisions.catch_up(), settings.topic_raw
            )
            time.sleep(rng.uniform(0.0, 1.5))
            victim.start()
    except BaseException:
        stop.set()
        raise
    finally:
        producer.join()
    result = decisions.wait_all_decided(sender.sent, timeout=240, settle=3)
    result.name = "crash"
    result.notes.append(f"{KILLS} SIGKILLs, {len(commits_ahead)} offsets committed before their decision")
    repeats = result.records - result.decided
    result.notes.append(f"{repeats} repeated decisions from redelivery")
    report(result)
    decisions.close()
    sender.close()
    assert result.violating == 0, result.failures()
    assert not commits_ahead, commits_ahead[:5]
    assert result.decided == ARTICLES
    assert all(w.running for w in workers), "a worker stopped by itself"
    # A killed worker's HTML extraction process must not outlive it (it did: about 90 MB each).
    live = [w.process.pid for w in workers if w.process is not None]
    wait_for(lambda: not orphaned_children(settings.app_id, live), 15, "killed workers' processes to exit")
