"""The worker's status page, rendered by a real headless Chromium after real traffic."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.monitoring.support import ARTIFACTS, CHROMIUM, MonitoredStack, needs_chromium, wait_until

pytestmark = [pytest.mark.monitoring, needs_chromium]


class Elements(HTMLParser):
    """Attributes and text of the elements with an id, from a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str]] = {}
        self.text: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if "id" in values:
            self.attrs[values["id"]] = values
            self.text[values["id"]] = ""
        self._open.append(values.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data


def chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once on ``url`` with the given output flag."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
        "--virtual-time-budget=5000",
        *args,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def rendered(stack: MonitoredStack, profile: Path) -> Elements:
    run = chromium(stack.worker_url + "/", profile, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    page = Elements()
    page.feed(run.stdout)
    return page


def number(page: Elements, element_id: str) -> float:
    return float(page.attrs[element_id]["data-value"])


def test_status_page_shows_the_counts_sent(monitored_stack, tmp_path):
    """After the traffic, the page's counters show what was sent: unique + duplicate + rejected = sent."""
    page = rendered(monitored_stack, tmp_path / "profile")
    assert number(page, "received") == monitored_stack.sent
    assert (
        number(page, "unique") + number(page, "duplicate") + number(page, "rejected") == monitored_stack.sent
    )
    assert number(page, "rejected") == monitored_stack.bad
    assert page.text["received"].replace(",", "") == str(monitored_stack.sent)
    rate = number(page, "duplicate-rate")
    assert rate == pytest.approx(
        number(page, "duplicate") / (number(page, "unique") + number(page, "duplicate"))
    )
    assert re.fullmatch(r"\d+\.\d %", page.text["duplicate-rate"])


def test_status_page_draws_charts_bars_and_the_evidence_table(monitored_stack, tmp_path):
    """Both charts are drawn from the history, bars list match kinds and codes, duplicates have rows."""
    wait_until(lambda: len(monitored_stack.status()["history"]) >= 2, 40, "two history intervals")
    page = rendered(monitored_stack, tmp_path / "profile")
    for chart in ("chart-throughput", "chart-duplicate-rate"):
        assert int(page.attrs[chart]["data-points"]) >= 2, chart
    paths = [attrs for tag, attrs in page.tags if tag == "path"]
    assert len(paths) >= 4  # an area and a line per chart
    status = monitored_stack.status()
    shown_matches = {attrs["data-name"] for tag, attrs in page.tags if "data-name" in attrs}
    assert set(status["duplicates_by_match"]) <= shown_matches
    assert {code for code, n in status["rejections"].items() if n} <= shown_matches
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and attrs.get("class") == "duplicate-row"]
    assert len(rows) == min(20, status["decisions"]["duplicate"])


def test_status_page_screenshot(monitored_stack, tmp_path):
    """A screenshot of the rendered page is written to artifacts/status-page.png."""
    wait_until(lambda: len(monitored_stack.status()["history"]) >= 2, 40, "two history intervals")
    shot = tmp_path / "status-page.png"
    run = chromium(monitored_stack.worker_url + "/", tmp_path / "profile", f"--screenshot={shot}")
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "status-page.png")


def test_status_page_is_served_with_its_content_security_policy(monitored_stack):
    """The worker sends the page with a CSP that names its script by hash (and nosniff); the counts test
    above shows the script still runs under it."""
    import urllib.request

    with urllib.request.urlopen(monitored_stack.worker_url + "/", timeout=10) as response:  # noqa: S310 - http
        policy = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "frame-ancestors 'none'" in policy
