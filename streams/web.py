"""The worker's own web pages: a status page at ``/`` and its data at ``/api/status``.

Plain HTML and a little JavaScript, no build step and nothing fetched from the internet: for the
local run and for an operator without Grafana. Everything shown is read from the worker's Prometheus
metrics, plus a short history of the counters (one point every 10 s, the last 15 minutes) kept in the
worker so the page can draw throughput and duplicate rate without a Prometheus server.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client.metrics import MetricWrapperBase

from streams.models import STATUSES
from streams.telemetry import WorkerTelemetry

HISTORY_INTERVAL_SECONDS = 10.0
HISTORY_POINTS = 90  # 15 minutes of 10 s points
RECENT_DUPLICATES = 20

#: The cumulative counters a history point holds: articles received, then decisions by status.
COUNTERS = ("received", *STATUSES)


def _samples(metric: MetricWrapperBase, suffix: str = "") -> Iterable[tuple[dict[str, str], float]]:
    """(labels, value) of a metric's samples whose name ends with ``suffix``."""
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(suffix) and not sample.name.endswith("_created"):
                yield sample.labels, sample.value


def _total(metric: MetricWrapperBase, suffix: str = "_total") -> float:
    return sum(value for _, value in _samples(metric, suffix))


def counters(telemetry: WorkerTelemetry) -> dict[str, float]:
    """The cumulative counters of a history point: received and decisions by outcome, with the time."""
    point = {"time": time.time(), "received": _total(telemetry.metrics.articles_in)}
    point.update(dict.fromkeys(STATUSES, 0.0))
    for labels, value in _samples(telemetry.metrics.decisions, "_total"):
        point[labels["outcome"]] = point.get(labels["outcome"], 0.0) + value
    return point


def duplicate_rate(unique: float, duplicate: float) -> float | None:
    """Share of decided articles that were duplicates (rejections excluded); None before any decision."""
    decided = unique + duplicate
    return duplicate / decided if decided > 0 else None


def rates(points: Sequence[dict[str, float]]) -> list[dict[str, float | None]]:
    """Per-interval rates between consecutive cumulative points.

    Args:
        points: Cumulative points in time order, each with ``time`` and :data:`COUNTERS`.

    Returns:
        One row per interval: its end ``time``, ``received_per_s``, ``decided_per_s`` and the
        interval's ``duplicate_rate`` (None when nothing was decided in it).
    """
    rows: list[dict[str, float | None]] = []
    for before, after in itertools.pairwise(points):
        seconds = after["time"] - before["time"]
        if seconds <= 0:
            continue
        delta = {name: after[name] - before[name] for name in COUNTERS}  # one process: counters only grow
        rows.append(
            {
                "time": after["time"],
                "received_per_s": delta["received"] / seconds,
                "decided_per_s": sum(delta[status] for status in STATUSES) / seconds,
                "duplicate_rate": duplicate_rate(delta["unique"], delta["duplicate"]),
            }
        )
    return rows


class StatusHistory:
    """A ring buffer of cumulative counter points, oldest first."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self._points: deque[dict[str, float]] = deque(maxlen=points)

    def add(self, point: dict[str, float]) -> None:
        """Append a point; the oldest falls out once the buffer is full."""
        self._points.append(point)

    def points(self) -> list[dict[str, float]]:
        """The points, oldest first."""
        return list(self._points)


def status_snapshot(telemetry: WorkerTelemetry, history: StatusHistory | None = None) -> dict[str, Any]:
    """Counters, health, a short history and the latest duplicates, read from the worker's metrics."""
    m = telemetry.metrics
    now = counters(telemetry)
    by_match: dict[str, float] = {}
    for labels, value in _samples(m.decisions, "_total"):
        if labels["outcome"] == "duplicate":
            by_match[labels["match"]] = by_match.get(labels["match"], 0.0) + value
    stage_sums = {labels["stage"]: value for labels, value in _samples(m.stage_seconds, "_sum")}
    stage_counts = {labels["stage"]: value for labels, value in _samples(m.stage_seconds, "_count")}
    points = [*(history.points() if history else []), now]
    return {
        "time": now["time"],
        "received": now["received"],
        "decisions": {status: now[status] for status in STATUSES},
        "duplicate_rate": duplicate_rate(now["unique"], now["duplicate"]),
        "replayed": _total(m.replays),
        "duplicates_by_match": by_match,
        "rejections": {labels["code"]: value for labels, value in _samples(m.rejections, "_total")},
        "stage_mean_seconds": {
            stage: total / stage_counts[stage]
            for stage, total in stage_sums.items()
            if stage_counts.get(stage)
        },
        "index": {"articles": _total(m.index_articles, ""), "prefix": telemetry.index.config.prefix},
        "redis": {
            "up": _total(m.redis_up, ""),
            "used_memory_bytes": _total(m.redis_memory_bytes, ""),
            "errors": _total(m.redis_errors),
            "retries": _total(m.redis_retries),
        },
        "consumer_lag": _total(m.consumer_lag, ""),
        "publish_errors": _total(m.publish_errors),
        "index_resets": _total(m.index_resets),
        "history_interval_seconds": HISTORY_INTERVAL_SECONDS,
        "history": rates(points),
        "recent_duplicates": list(reversed(telemetry.recent_duplicates[-RECENT_DUPLICATES:])),
    }


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: str) -> str:
    """The status page's Content-Security-Policy: its own inline script (by hash) and styles, requests
    to this worker only, nothing else (no other script, frame, form, plugin or base URL).

    A script injected through data shown on the page (a source name, a URL) would not run.
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    scripts = hashes or "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def register(app: faust.App, telemetry: WorkerTelemetry) -> StatusHistory:
    """Add the status page, its JSON endpoint and the history timer to the app; returns the history."""
    history = StatusHistory()
    page = resources.files("streams").joinpath("static/status.html").read_text(encoding="utf-8")
    headers = {"Content-Security-Policy": content_security_policy(page), "X-Content-Type-Options": "nosniff"}

    @app.page("/")
    class StatusPage(View):
        async def get(self, request: Request) -> Response:
            return self.html(page, headers=headers)

    @app.page("/api/status")
    class StatusData(View):
        async def get(self, request: Request) -> Response:
            return self.json(status_snapshot(telemetry, history))

    async def record_history() -> None:
        history.add(counters(telemetry))

    # A first point at start, so the first interval already ends at the first tick.
    app.task(record_history)
    app.timer(interval=HISTORY_INTERVAL_SECONDS)(record_history)

    return history
