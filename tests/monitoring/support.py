"""Helpers of the monitoring tests: a real Prometheus, PromQL selectors, and one monitored run of the stack.

A worker (real ``streams worker`` process) runs against the session's broker (tansu or Apache Kafka) and
a Redis of its own that starts *after* the worker: the first wave of articles waits while Redis is down,
which makes consumer lag, ``streams_redis_up == 0`` and Redis errors real. Then Redis starts, the
backlog is decided, and two more waves flow. A real Prometheus (Debian's ``prometheus``, when installed)
scrapes the worker every second with the repository's prometheus.yml (the worker target swapped for this
worker) and evaluates the repository's alert rules every second.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.tools.localstack import BrokerProcess, RedisProcess, free_port
from streams.tools.synthetic import generate_stream
from tests.conftest import produce

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "streams.json"
ARTIFACTS = ROOT / "artifacts"

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None,
    reason="Prometheus is not installed (Debian package 'prometheus'; scripts/system-deps.sh installs it)",
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian package 'chromium'; scripts/system-deps.sh installs it)",
)

#: Inputs that must be rejected, one per code the parser and the cleaner give.
BAD_INPUTS = [
    b"{not json",
    b"[1, 2, 3]",
    json.dumps({"title": "no url", "text": "a story without an address"}).encode(),
    json.dumps({"url": "ftp://files.example/story", "text": "served over ftp"}).encode(),
    json.dumps({"url": "https://empty.example/a", "text": "   "}).encode(),
    b"\xff\xfe\x00 not utf-8",
    json.dumps({"url": "https://short.example/b", "text": "Too short."}).encode(),
]


def http_get(url: str, timeout: float = 5.0) -> bytes:
    """The body of a GET to a local server."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  (local test servers)
        body: bytes = response.read()
        return body


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the server may not be up yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error!r})")


#: Metric names a PromQL selector can start with in this project's rules and dashboard.
_SELECTOR = re.compile(r"\b(streams_[a-z0-9_]+|faust_[a-z0-9_]+|up)\b(\{[^{}]*\})?(?!\s*\()")
#: Grafana's variables, replaced the way Grafana would for "All" over the last minutes.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m", "$instance": ".+"}


def promql_selectors(expr: str) -> set[str]:
    """The instant vector selectors (metric name and label matchers) an expression reads.

    Ranges and offsets are left out on purpose: the point is whether the series exist.
    """
    return {name + (matchers or "") for name, matchers in _SELECTOR.findall(expr)}


def grafana_expr(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced, ready for Prometheus."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def dashboard() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return result


def dashboard_panels(board: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    panels = []
    for panel in (board or dashboard())["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL with Grafana variables replaced) of every query on the dashboard."""
    return [
        (panel["title"], grafana_expr(target["expr"]))
        for panel in dashboard_panels()
        for target in panel.get("targets", [])
    ]


def variable_selectors() -> set[str]:
    """The selectors inside the dashboard's ``label_values(selector, label)`` variable queries."""
    selectors = set()
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("definition") or variable.get("query", {}).get("query", "")
        match = re.fullmatch(r"label_values\((.*),\s*\w+\)", query.strip())
        if match:
            selectors.add(match.group(1))
    return selectors


def alert_rules() -> list[dict[str, Any]]:
    """The rules of deploy/prometheus/alerts.yml."""
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def metric_values(metrics_text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of every sample called ``name`` in a /metrics page."""
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == name
    ]


def metric_sum(metrics_text: str, name: str) -> float:
    return sum(value for _, value in metric_values(metrics_text, name))


@dataclass
class PrometheusServer:
    """A ``prometheus`` process on a free loopback port, with its data in a temporary folder."""

    workdir: Path
    config: dict[str, Any]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config), encoding="utf-8")
        log = (self.workdir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(lambda: http_get(f"{self.url}/-/ready"), 30, "Prometheus to be ready")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def api(self, path: str, **params: Any) -> Any:
        """The ``data`` of a Prometheus HTTP API answer; fails on an error status."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        body = json.loads(http_get(f"{self.url}/api/v1/{path}?{query}", timeout=10))
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector (or scalar as one sample) of a PromQL expression."""
        data = self.api("query", query=expr, time=at)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The single value of an expression that sums to one sample, or None when it has no data."""
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def active_alerts(self) -> set[str]:
        """Names of the alerts pending or firing now."""
        return {alert["labels"]["alertname"] for alert in self.api("alerts")["alerts"]}


def scrape_config_for(worker_port: int, interval: str = "1s") -> dict[str, Any]:
    """The repository's prometheus.yml with the worker's address for its DNS discovery, fast intervals."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    config["rule_files"] = [str(ALERTS)]
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == "streams"]
    for job in jobs:
        job.pop("dns_sd_configs")
        job["static_configs"] = [{"targets": [f"127.0.0.1:{worker_port}"]}]
    config["scrape_configs"] = jobs
    return config


@dataclass
class MonitoredStack:
    """What the monitored run did and saw."""

    worker_url: str
    worker_log: Path
    prometheus: PrometheusServer | None
    sent: int = 0
    bad: int = 0
    lag_during_outage: float = 0.0
    alerts_during_outage: set[str] = field(default_factory=set)
    flow_end: float = 0.0  # a moment (Unix time) right after the last wave was scraped

    def metrics(self) -> str:
        return http_get(f"{self.worker_url}/metrics").decode()

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(http_get(f"{self.worker_url}/api/status"))
        return result

    def decided(self) -> float:
        return metric_sum(self.metrics(), "streams_decisions_total")


def waves() -> list[list[bytes]]:
    """Three waves of synthetic news with copies and bad inputs (about 8% of the input).

    Wave 2 re-sends five wave-1 articles as they were (a redelivery: the index repeats its decision).
    """
    articles = [
        json.dumps(a).encode() for a in generate_stream(240, duplicate_share=0.35, seed=11, words=(120, 300))
    ]
    return [
        articles[:100] + BAD_INPUTS + BAD_INPUTS,
        articles[100:180] + articles[:5] + BAD_INPUTS[:4],
        articles[180:] + BAD_INPUTS[4:],
    ]


def run_scenario(stack: MonitoredStack, broker: BrokerProcess, topic: str, redis: RedisProcess) -> None:
    first, *later = waves()
    wait_until(stack.metrics, 60, "the worker's /metrics")
    # Wave 1 while Redis is down: the worker holds the batch, so all of it is lag.
    produce(broker, topic, first)
    stack.sent, stack.bad = len(first), sum(payload in BAD_INPUTS for payload in first)
    stack.lag_during_outage = wait_until(
        lambda: metric_sum(stack.metrics(), "streams_consumer_lag_messages") == len(first) and len(first),
        90,
        f"a consumer lag of {len(first)} while Redis is down (worker log: {stack.worker_log})",
    )
    if stack.prometheus is not None:
        prometheus = stack.prometheus
        stack.alerts_during_outage = wait_until(
            lambda: (
                {"StreamsRedisDown", "StreamsRedisErrors"} <= prometheus.active_alerts()
                and prometheus.active_alerts()
            ),
            30,
            "the Redis alerts to become active during the outage",
        )
    redis.start()
    wait_until(lambda: stack.decided() == stack.sent, 60, "the backlog to be decided once Redis is up")
    for wave in later:
        _settle(stack)  # every series exists in Prometheus before the next wave increases it
        produce(broker, topic, wave)
        stack.sent += len(wave)
        stack.bad += sum(payload in BAD_INPUTS for payload in wave)
        wait_until(lambda: stack.decided() == stack.sent, 60, f"{stack.sent} decisions")
    _settle(stack)
    stack.flow_end = time.time()


def _settle(stack: MonitoredStack) -> None:
    """Wait until Prometheus has scraped the worker's current counts (twice: rates need two samples)."""
    if stack.prometheus is None:
        return
    prometheus = stack.prometheus
    expected = stack.decided()
    wait_until(
        lambda: prometheus.value('sum(streams_decisions_total{job="streams"})') == expected,
        30,
        f"Prometheus to scrape {expected} decisions",
    )
    scraped_at = time.time()
    wait_until(
        lambda: (prometheus.value('timestamp(up{job="streams"})') or 0) > scraped_at + 1,
        30,
        "one more scrape",
    )
