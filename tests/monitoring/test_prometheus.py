"""The alert rules and the Grafana dashboard's queries, run by a real Prometheus scraping a real worker."""

from __future__ import annotations

import math
import subprocess

import pytest

from tests.monitoring.support import (
    ALERTS,
    PROMETHEUS_CONFIG,
    PROMTOOL,
    MonitoredStack,
    PrometheusServer,
    alert_rules,
    dashboard_queries,
    needs_prometheus,
    promql_selectors,
    variable_selectors,
    wait_until,
)

pytestmark = [pytest.mark.monitoring, needs_prometheus]


def prometheus_of(stack: MonitoredStack) -> PrometheusServer:
    assert stack.prometheus is not None
    return stack.prometheus


def finite_values(result: list[dict[str, object]]) -> list[float]:
    values = [float(sample["value"][1]) for sample in result]  # type: ignore[index]
    return [v for v in values if math.isfinite(v)]


def test_promtool_accepts_the_alert_rules():
    """`promtool check rules` passes on deploy/prometheus/alerts.yml."""
    run = subprocess.run([str(PROMTOOL), "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in run.stdout


def test_promtool_accepts_the_config():
    """`promtool check config` passes on deploy/prometheus/prometheus.yml, rule file included."""
    run = subprocess.run(
        [str(PROMTOOL), "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 rule files found" in run.stdout


def test_every_rule_loaded_and_evaluated_without_error(monitored_stack):
    """Prometheus loaded every alert of the file and evaluated each one healthily on the worker's data."""
    prometheus = prometheus_of(monitored_stack)
    rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
    assert sorted(rule["name"] for rule in rules) == sorted(rule["alert"] for rule in alert_rules())
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
        assert not rule.get("lastError"), rule["name"]
        assert not rule["lastEvaluation"].startswith("0001-"), f"{rule['name']} was never evaluated"


def test_every_series_the_alert_rules_read_exists(monitored_stack):
    """Each metric selector in each alert expression matches series the worker exports (no typo'd names)."""
    prometheus = prometheus_of(monitored_stack)
    missing = [
        (rule["alert"], selector)
        for rule in alert_rules()
        for selector in sorted(promql_selectors(rule["expr"]))
        if not prometheus.query(selector, at=monitored_stack.flow_end)
    ]
    assert not missing, f"alert selectors without data: {missing}"


def test_every_alert_expression_evaluates(monitored_stack):
    """Each full alert expression runs as a query (whether its condition holds or not)."""
    prometheus = prometheus_of(monitored_stack)
    for rule in alert_rules():
        prometheus.query(rule["expr"], at=monitored_stack.flow_end)  # raises on a PromQL error


def test_redis_alerts_went_active_during_the_outage(monitored_stack):
    """With Redis down under a running worker, StreamsRedisDown and StreamsRedisErrors became active."""
    assert {"StreamsRedisDown", "StreamsRedisErrors"} <= monitored_stack.alerts_during_outage


def test_rejection_alert_is_pending_on_a_high_rejection_share(monitored_stack):
    """About 8% of the test input is bad, with no earlier baseline: StreamsRejectionsSpiking is pending."""
    prometheus = prometheus_of(monitored_stack)
    wait_until(
        lambda: "StreamsRejectionsSpiking" in prometheus.active_alerts(), 30, "StreamsRejectionsSpiking"
    )


def test_prometheus_saw_the_backlog_as_lag_and_then_none(monitored_stack):
    """The lag Prometheus scraped peaked at the wave held back by the outage and came back to zero."""
    prometheus = prometheus_of(monitored_stack)
    peak = prometheus.value('max_over_time(sum(streams_consumer_lag_messages{job="streams"})[10m:1s])')
    assert peak == monitored_stack.lag_during_outage
    wait_until(
        lambda: prometheus.value('sum(streams_consumer_lag_messages{job="streams"})') == 0, 30, "no lag"
    )


def test_every_dashboard_query_returns_numbers(monitored_stack):
    """Each Grafana panel query, run right after the traffic, returns series with at least one number."""
    prometheus = prometheus_of(monitored_stack)
    empty = []
    for title, expr in dashboard_queries():
        result = prometheus.query(expr, at=monitored_stack.flow_end)
        if not finite_values(result):
            empty.append((title, expr, result))
    assert not empty, f"dashboard queries without data: {empty}"


def test_every_series_the_dashboard_reads_exists(monitored_stack):
    """Each metric selector of the panels and of the worker variable matches series in Prometheus."""
    prometheus = prometheus_of(monitored_stack)
    selectors = {s for _, expr in dashboard_queries() for s in promql_selectors(expr)} | variable_selectors()
    missing = sorted(s for s in selectors if not prometheus.query(s, at=monitored_stack.flow_end))
    assert not missing, f"dashboard selectors without data: {missing}"


def test_duplicate_rate_query_matches_the_worker_counts(monitored_stack):
    """The dashboard's duplicate-rate arithmetic over all the test's data equals the worker's own counts."""
    prometheus = prometheus_of(monitored_stack)
    status = monitored_stack.status()
    d = status["decisions"]
    expr = (
        'sum(streams_decisions_total{job="streams", outcome="duplicate"})'
        ' / sum(streams_decisions_total{job="streams", outcome=~"unique|duplicate"})'
    )
    assert prometheus.value(expr) == pytest.approx(d["duplicate"] / (d["unique"] + d["duplicate"]))
