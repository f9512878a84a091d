"""The worker's own web pages: a status page at ``/`` and its data at ``/api/status``.

Plain HTML and a little JavaScript, no build step: for the local run, where no Grafana exists.
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import faust
from faust.web import Request, Response, View

from streams.agents import DedupWorker


def status_snapshot(worker: DedupWorker) -> dict[str, Any]:
    """Counters and the latest duplicates, read from the worker's metrics."""
    m = worker.metrics
    decisions: dict[str, float] = {"unique": 0, "duplicate": 0, "rejected": 0}
    by_match: dict[str, float] = {}
    for metric in m.decisions.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                outcome = sample.labels["outcome"]
                decisions[outcome] = decisions.get(outcome, 0) + sample.value
                if outcome == "duplicate":
                    match = sample.labels["match"]
                    by_match[match] = by_match.get(match, 0) + sample.value
    rejections = {
        s.labels["code"]: s.value for metric in m.rejections.collect() for s in metric.samples if s.name.endswith("_total")
    }
    received = sum(s.value for metric in m.articles_in.collect() for s in metric.samples if s.name.endswith("_total"))
    return {
        "time": time.time(),
        "received": received,
        "decisions": decisions,
        "duplicates_by_match": by_match,
        "rejections": rejections,
        "recent_duplicates": list(reversed(worker.recent[-20:])),
        "index_prefix": worker.index.config.prefix,
    }


def register(app: faust.App, worker: DedupWorker) -> None:
    """Add the status page and its JSON endpoint to the app's web server."""

    @app.page("/")
    class StatusPage(View):
        async def get(self, request: Request) -> Response:
            html = resources.files("streams").joinpath("static/status.html").read_text(encoding="utf-8")
            return self.html(html)

    @app.page("/api/status")
    class StatusData(View):
        async def get(self, request: Request) -> Response:
            return self.json(status_snapshot(worker))
