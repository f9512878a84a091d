"""Race: copies of each story on different partitions, read by two workers at the same moment."""

from __future__ import annotations

import random

import pytest

from streams.tools.synthetic import generate_story, make_copy, make_original
from tests.reliability.conftest import Decisions, Sender, labelled, report, samples, wait_for
from tests.reliability.invariants import expected_id

pytestmark = pytest.mark.reliability

STORIES = 200
ROUNDS = 3
# Copies similar to each other as well as to the original (see docs/guarantees.md for the others).
KINDS = ("exact", "recrawl", "syndicated", "edited")


def stories(seed: int, count: int) -> list[list[tuple[bytes, str | None]]]:
    """``count`` stories, each an original and two copies, as (payload, story label)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        original = make_original(generate_story(rng, (250, 500)), rng)
        copies = [make_copy(kind, original, rng) for kind in rng.sample(KINDS, 2)]
        out.append([labelled(a) for a in (original, *copies)])
    return out


def owned_partitions(port: str, topic: str) -> set[int]:
    """The raw partitions a worker reports lag for, that is the ones assigned to it."""
    return {int(labels["partition"]) for labels, _ in samples(port, "streams_consumer_lag_messages")
            if labels.get("topic") == topic}  # fmt: skip


def test_two_workers_deciding_copies_at_once_publish_one_unique_per_story(
    broker, settings_factory, worker_factory
):
    """Three rounds of 200 stories: each story's three copies go to three different partitions in one
    burst, so both workers decide copies of the same story at the same moment. The atomic script lets
    exactly one copy per story be unique, every round; the other invariants hold too."""
    settings = settings_factory()
    workers = [worker_factory(settings, name="w1"), worker_factory(settings, name="w2")]
    ports = [w.env["STREAMS_WEB_PORT"] for w in workers]
    everything = set(range(settings.topic_partitions))

    def split_between_both() -> bool:
        owned = [owned_partitions(port, settings.topic_raw) for port in ports]
        return all(owned) and not (owned[0] & owned[1]) and owned[0] | owned[1] == everything

    wait_for(split_between_both, 90, "both workers to own raw partitions")
    sender = Sender(broker.bootstrap, settings.topic_raw)
    decisions = Decisions(broker.bootstrap, settings)
    for round_number in range(ROUNDS):
        batch = stories(seed=1000 + round_number, count=STORIES)
        payloads, labels, partitions = [], [], []
        for s, copies in enumerate(batch):
            for j, (payload, story) in enumerate(copies):
                payloads.append(payload)
                labels.append(story)
                partitions.append((s + j) % settings.topic_partitions)  # three copies, three partitions
        sent = sender.send(payloads, stories=labels, partitions=partitions)
        # Checked over every round so far: earlier rounds' decisions stay valid too.
        result = decisions.wait_all_decided(sender.sent, timeout=120, settle=1)
        ids = {m.id for m in sent}
        originals = {expected_id(copies[0][0]) for copies in batch}
        unique_ids = {o.body["id"] for o in decisions.outputs if o.status == "unique" and o.body["id"] in ids}
        uniques = sum(o.status == "unique" for o in decisions.outputs if o.body.get("id") in ids)
        result.name = f"race after round {round_number + 1}"
        result.notes.append(
            f"{STORIES} stories, {uniques} published as unique, {len(unique_ids - originals)} of them a copy "
            "that beat its original"
        )
        report(result)
        assert result.violating == 0, result.failures()
        assert result.decided == len(sender.sent)
        assert uniques == STORIES  # exactly one per story: none missing, none doubled
    assert all(w.running for w in workers)
    decisions.close()
    sender.close()
