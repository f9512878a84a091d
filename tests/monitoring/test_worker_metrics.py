"""The worker's /metrics and /api/status after real traffic (no Prometheus needed)."""

from __future__ import annotations

import pytest

from streams.models import REJECTION_CODES
from tests.monitoring.support import metric_sum, metric_values, wait_until, waves

pytestmark = pytest.mark.monitoring


def test_metrics_page_counts_what_was_sent(monitored_stack):
    """Articles in, decisions and rejections on /metrics add up to the messages produced."""
    text = monitored_stack.metrics()
    assert metric_sum(text, "streams_articles_received_total") == monitored_stack.sent
    assert metric_sum(text, "streams_decisions_total") == monitored_stack.sent
    assert metric_sum(text, "streams_rejections_total") == monitored_stack.bad
    rejected = [
        v for labels, v in metric_values(text, "streams_decisions_total") if labels["outcome"] == "rejected"
    ]
    assert sum(rejected) == monitored_stack.bad
    assert metric_sum(text, "streams_end_to_end_seconds_count") == monitored_stack.sent


def test_metrics_page_has_every_stage_and_histogram_with_data(monitored_stack):
    """Stage latencies (clean, fingerprint, index, publish), similarity and batch histograms have samples."""
    text = monitored_stack.metrics()
    stages = {labels["stage"]: v for labels, v in metric_values(text, "streams_stage_seconds_count")}
    assert {"parse", "clean_text", "fingerprint", "index", "publish"} <= set(stages)
    assert all(count > 0 for count in stages.values())
    decided_articles = monitored_stack.sent - monitored_stack.bad
    assert stages["index"] == stages["publish"] - monitored_stack.bad == decided_articles
    assert metric_sum(text, "streams_near_duplicate_similarity_count") > 0
    assert metric_sum(text, "streams_batch_articles_sum") == monitored_stack.sent


def test_decision_labels_are_bounded(monitored_stack):
    """Outcome and match take fixed values; the rejection codes are the stable list, all there from start."""
    text = monitored_stack.metrics()
    samples = metric_values(text, "streams_decisions_total")
    assert {labels["outcome"] for labels, _ in samples} == {"unique", "duplicate", "rejected"}
    assert {labels["match"] for labels, _ in samples} <= {"none", "url", "exact", "near", "id"}
    assert {labels["code"] for labels, _ in metric_values(text, "streams_rejections_total")} == set(
        REJECTION_CODES
    )


def test_index_and_redis_gauges_report_after_the_outage(monitored_stack):
    """Once Redis is back the gauges say so: Redis up, its memory, and the index size."""

    def gauges() -> dict[str, float]:
        text = monitored_stack.metrics()
        names = ("streams_redis_up", "streams_redis_used_memory_bytes", "streams_index_articles")
        return {name: metric_sum(text, name) for name in names}

    unique = monitored_stack.status()["decisions"]["unique"]
    wait_until(lambda: gauges()["streams_index_articles"] >= unique, 30, "the index gauge")
    values = gauges()
    assert values["streams_redis_up"] == 1
    assert values["streams_redis_used_memory_bytes"] > 0
    assert values["streams_index_articles"] <= monitored_stack.sent - monitored_stack.bad
    text = monitored_stack.metrics()
    assert metric_sum(text, "streams_redis_errors_total") > 0  # the outage was counted
    assert metric_sum(text, "streams_redis_retries_total") > 0


def test_consumer_lag_counted_the_backlog_then_drained(monitored_stack):
    """While Redis was down the lag was the whole held-back wave; after it, zero, for raw partitions only."""
    assert monitored_stack.lag_during_outage == len(waves()[0])
    wait_until(
        lambda: metric_sum(monitored_stack.metrics(), "streams_consumer_lag_messages") == 0, 90, "no lag"
    )
    topics = {
        labels["topic"]
        for labels, _ in metric_values(monitored_stack.metrics(), "streams_consumer_lag_messages")
    }
    assert len(topics) == 1 and topics.pop().endswith(".raw")


def test_status_api_agrees_with_the_metrics(monitored_stack):
    """/api/status reports the same counts, a duplicate rate, per-match counts and evidence rows."""
    status = monitored_stack.status()
    d = status["decisions"]
    assert status["received"] == monitored_stack.sent
    assert d["unique"] + d["duplicate"] + d["rejected"] == monitored_stack.sent
    assert d["rejected"] == monitored_stack.bad, status["rejections"]
    assert status["duplicate_rate"] == pytest.approx(d["duplicate"] / (d["unique"] + d["duplicate"]))
    assert sum(status["duplicates_by_match"].values()) == d["duplicate"]
    assert sum(status["rejections"].values()) == monitored_stack.bad
    row = status["recent_duplicates"][0]
    assert {"url", "duplicate_of_url", "match", "measure", "similarity", "threshold"} <= set(row)
