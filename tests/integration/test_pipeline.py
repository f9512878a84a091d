"""The Kafka path end to end: real broker, real Redis, real worker processes."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import article, produce, read_outputs

pytestmark = pytest.mark.integration

STORY = (
    "The city council approved a new budget for public libraries on Tuesday, adding late opening hours "
    "at twelve branches and funding for a mobile library that will visit rural villages every week. "
    "Council leader Maria Alvarez said the plan answered years of requests from parents and students. "
    "Opposition members argued the money should have gone to road repairs, but the vote passed easily. "
    "Library staff unions welcomed the decision and said they would begin hiring before the summer."
)
OTHER = (
    "A regional airline announced it will retire its oldest turboprop aircraft by next spring and replace "
    "them with quieter models built in Canada. The chief executive told investors that fuel savings would "
    "pay for the purchase within six years, while pilots will retrain at a new simulator centre."
)


def test_every_input_gets_one_decision_on_the_right_topic(broker, settings_factory, worker_factory):
    """Unique, duplicate and each kind of bad input each land on their topic, keyed by article id; the
    worker logs one JSON object a line (STREAMS_LOG_FORMAT's default), with the extra fields."""
    settings = settings_factory()
    worker = worker_factory(settings)
    payloads = [
        article("https://a.example/story", STORY, id="a1", source="a.example"),
        article("https://b.example/copy?utm_source=x", STORY, id="b1", source="b.example"),
        article("https://a.example/story?utm_medium=social#top", STORY + " Updated.", id="a2"),
        article("https://c.example/other", OTHER, id="c1"),
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"title": "no url", "text": STORY}).encode(),
        json.dumps({"url": "https://d.example/x", "text": "   "}).encode(),
        b"\xff\xfe\x00garbage",
        # Over max_message_bytes (2 MB) but within the broker's message.max.bytes (2.2 MB, as
        # docker-compose.yml sets it): Apache Kafka refuses anything larger at produce time.
        json.dumps({"url": "https://e.example/big", "text": "x" * 2_100_000}).encode(),
    ]
    produce(broker, settings.topic_raw, payloads)
    decisions = read_outputs(broker, settings, expected=len(payloads), settle=2)
    assert len(decisions) == len(payloads)
    by_topic = Counter(d["_topic"] for d in decisions)
    assert by_topic == {settings.topic_unique: 2, settings.topic_duplicates: 2, settings.topic_rejected: 6}
    codes = sorted(d["error"] for d in decisions if d["_topic"] == settings.topic_rejected)
    assert codes == [
        "bad_encoding",
        "empty_text",
        "invalid_json",
        "missing_url",
        "not_an_object",
        "too_large",
    ]
    # a1, b1 and a2 are one story: whichever the index decided first is unique, the others name it.
    story = {d["id"]: d for d in decisions if d.get("id") in ("a1", "b1", "a2")}
    firsts = [i for i, d in story.items() if d["_topic"] == settings.topic_unique]
    assert len(firsts) == 1
    assert {d["duplicate_of"] for i, d in story.items() if i != firsts[0]} == {firsts[0]}
    for d in decisions:
        if d.get("id"):
            assert d["_key"] == d["id"]
    garbage = next(d for d in decisions if d.get("error") == "bad_encoding")
    assert base64.b64decode(garbage["raw"]) == b"\xff\xfe\x00garbage"
    lines = worker.log_path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    ready = [r for r in records if r.get("event") == "index ready"]
    assert ready and ready[0]["fingerprint_core"] in ("native", "python") and ready[0]["level"] == "info"
    faust_console = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\] \[\d+\] \[[A-Z]+\]")
    assert not [line for line in lines if faust_console.match(line)], "log lines not in JSON"


def test_offline_dedup_gives_the_same_decisions_as_the_kafka_path(
    broker, settings_factory, worker_factory, redis_url, tmp_path: Path
):
    """`streams dedup` and a worker decide the same sample file identically (one partition, same order)."""
    import asyncio

    from streams.cli import decide_offline, read_jsonl_lines, sample_path, strip_labels

    lines = [strip_labels(line)[0] for line in read_jsonl_lines(sample_path())]
    settings = settings_factory(topic_partitions=1)
    worker_factory(settings)
    produce(broker, settings.topic_raw, lines)
    kafka = read_outputs(broker, settings, expected=len(lines))
    offline_settings = settings.model_copy(update={"namespace": settings.namespace + "-offline"})
    offline, _ = asyncio.run(decide_offline(offline_settings, redis_url, lines, show_progress=False))

    def summary(d: dict) -> tuple:
        status = "rejected" if "error" in d else "duplicate" if "duplicate_of" in d else "unique"
        return (d.get("id"), status, d.get("duplicate_of"), d.get("match"))

    assert sorted(map(summary, kafka)) == sorted(summary(d.to_dict() | {}) for d in offline)


def test_two_workers_share_the_partitions_and_decide_everything_once(
    broker, settings_factory, worker_factory
):
    """With two workers in one group, every article still gets exactly one decision."""
    settings = settings_factory()
    worker_factory(settings, name="w1")
    worker_factory(settings, name="w2")
    payloads = [article(f"https://s{i}.example/n", f"{OTHER} Story number {i} " + STORY[: 50 + i], id=f"s{i}")
                for i in range(60)]  # fmt: skip
    produce(broker, settings.topic_raw, payloads)
    decisions = read_outputs(broker, settings, expected=60, timeout=120, settle=3)
    ids = Counter(d["id"] for d in decisions)
    assert set(ids) == {f"s{i}" for i in range(60)}
    assert all(n == 1 for n in ids.values())
