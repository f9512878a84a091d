"""The monitoring files hold together without any server: dashboard, provisioning, rules, docs, history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics
from streams.web import StatusHistory, duplicate_rate, rates
from tests.monitoring.support import (
    PROMETHEUS_CONFIG,
    ROOT,
    alert_rules,
    dashboard,
    dashboard_panels,
    dashboard_queries,
    promql_selectors,
)

pytestmark = pytest.mark.monitoring

GRAFANA = ROOT / "deploy" / "grafana"
DOCS = ROOT / "docs" / "monitoring.md"


def project_metric_names() -> set[str]:
    """Names of the worker's own metric families (without _total and friends)."""
    registry = CollectorRegistry()
    Metrics(registry)
    return {family.name for family in registry.collect()}


def test_dashboard_panels_use_the_provisioned_datasource_and_fit_the_grid():
    """Every panel and query names the datasource uid 'prometheus'; ids are unique; panels do not overlap."""
    panels = dashboard_panels()
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "prometheus"


def test_dashboard_shows_every_project_metric():
    """Each metric the worker defines appears in at least one panel query."""
    used = {s.split("{")[0] for _, expr in dashboard_queries() for s in promql_selectors(expr)}
    families = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert project_metric_names() <= families, project_metric_names() - families


def test_dashboard_has_the_operator_panels():
    """Throughput, duplicate rates by kind and source, latency percentiles, lag, index, Redis, rejections."""
    titles = " | ".join(p["title"].lower() for p in dashboard_panels())
    for words in (
        "throughput",
        "match kind",
        "by source",
        "latency",
        "lag",
        "index size",
        "redis",
        "rejections",
    ):
        assert words in titles, words
    assert any("histogram_quantile" in expr for _, expr in dashboard_queries())
    assert dashboard()["uid"] == "streams-dedup"


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards_folder():
    """The datasource has uid 'prometheus' at http://prometheus:9090; the file provider reads the mount."""
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert (source["uid"], source["type"], source["url"]) == (
        "prometheus",
        "prometheus",
        "http://prometheus:9090",
    )
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "streams.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_prometheus_scrapes_the_worker_service_by_dns_and_loads_the_rules():
    """Job 'streams' finds every replica of the compose service 'worker' (A records, port 6066)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "streams"]
    assert job["dns_sd_configs"] == [
        {"names": ["worker"], "type": "A", "port": 6066, "refresh_interval": "15s"}
    ]
    assert config["rule_files"] == ["alerts.yml"]
    assert (PROMETHEUS_CONFIG.parent / "alerts.yml").exists()


def test_every_alert_has_a_severity_and_an_explanation():
    """Each rule is an alert with severity warning/critical, a summary and a description."""
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_monitoring_doc_lists_every_metric_and_alert():
    """docs/monitoring.md names each metric family and each alert."""
    text = DOCS.read_text(encoding="utf-8")
    for name in project_metric_names():
        assert name in text, name
    for rule in alert_rules():
        assert rule["alert"] in text, rule["alert"]
    assert Path(ROOT / "docs" / "status-page.png").exists()


def test_history_rates_per_interval():
    """Cumulative points become per-second rates and each interval's duplicate share (None: none decided)."""
    points = [
        {"time": 0.0, "received": 0, "unique": 0, "duplicate": 0, "rejected": 0},
        {"time": 10.0, "received": 50, "unique": 30, "duplicate": 10, "rejected": 10},
        {"time": 20.0, "received": 50, "unique": 30, "duplicate": 10, "rejected": 10},
        {"time": 30.0, "received": 70, "unique": 35, "duplicate": 25, "rejected": 10},
    ]
    rows = rates(points)
    assert [r["received_per_s"] for r in rows] == [5.0, 0.0, 2.0]
    assert [r["decided_per_s"] for r in rows] == [5.0, 0.0, 2.0]
    assert [r["duplicate_rate"] for r in rows] == [0.25, None, 0.75]


def test_history_ring_buffer_keeps_the_latest_points():
    """The history holds at most its size, oldest first."""
    history = StatusHistory(points=3)
    for t in range(5):
        history.add({"time": float(t)})
    assert [p["time"] for p in history.points()] == [2.0, 3.0, 4.0]
    assert duplicate_rate(0, 0) is None
