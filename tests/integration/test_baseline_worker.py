"""The datasketch baseline run as a worker, against the session's real broker and Redis."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.settings import Settings
from streams.tools.baseline_worker import group_id, start_baseline_worker
from streams.tools.localstack import BrokerProcess
from streams.tools.synthetic import generate_stream
from tests.conftest import produce, read_outputs

pytestmark = pytest.mark.integration


def committed_offsets(broker: BrokerProcess, settings: Settings) -> int:
    """The sum of the offsets the baseline's group committed on the raw topic."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_id(settings)})
    try:
        partitions = [TopicPartition(settings.topic_raw, p) for p in range(settings.topic_partitions)]
        return sum(max(0, tp.offset) for tp in consumer.committed(partitions, timeout=20))
    finally:
        consumer.close()


def test_every_article_gets_one_decision_copies_are_duplicates_and_sigterm_stops_it(
    broker: BrokerProcess, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    """20 distinct stories, 8 exact copies of some under new ids and 2 payloads that are not JSON objects:
    30 decisions, one per key, the copies on the duplicates topic naming their original; on SIGTERM the
    worker exits 0 with every offset committed."""
    settings = settings_factory()
    log = tmp_path / "baseline.log"
    proc = start_baseline_worker(settings, log)
    try:
        originals = [dict(a, id=f"a-{i}") for i, a in enumerate(
            generate_stream(20, duplicate_share=0.0, seed=21, same_event_share=0.0))]  # fmt: skip
        copies = [dict(originals[i], id=f"copy-{i}", url=f"https://copies.test/{i}") for i in range(8)]
        keys = [str(a["id"]).encode() for a in originals + copies] + [b"bad-0", b"bad-1"]
        # The originals decided first: across partitions a batch's order is not the order produced.
        produce(broker, settings.topic_raw, [json.dumps(a).encode() for a in originals], keys[:20])
        read_outputs(broker, settings, expected=20, timeout=60)
        bad = [b'{"id": "bad-0", "text": ', b"[1, 2]"]
        produce(broker, settings.topic_raw, [json.dumps(a).encode() for a in copies] + bad, keys[20:])
        # Read on for a while after the 30th: a second decision for any article would show up.
        decisions = read_outputs(broker, settings, expected=30, timeout=60, settle=2)
        assert proc.process is not None
        proc.process.send_signal(signal.SIGTERM)
        assert proc.process.wait(30) == 0, log.read_text()
    finally:
        proc.stop(timeout=10)
    assert Counter(d["_key"] for d in decisions) == Counter(k.decode() for k in keys)
    by_key = {d["_key"]: d for d in decisions}
    for i in range(8):
        copy = by_key[f"copy-{i}"]
        assert (copy["_topic"], copy["duplicate_of"]) == (settings.topic_duplicates, f"a-{i}")
    assert {by_key[f"a-{i}"]["_topic"] for i in range(20)} == {settings.topic_unique}
    assert {by_key[k]["error"] for k in ("bad-0", "bad-1")} == {"invalid_json", "not_an_object"}
    assert "stopped after 30 decisions" in log.read_text()
    assert committed_offsets(broker, settings) == 30
