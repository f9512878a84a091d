"""Stopping for real: Ctrl-C in a terminal (a pseudo-terminal here) and signals stop ``streams dev``
and ``streams worker``, and nothing they started is left running.

Every test collects the process ids of everything the command started *before* the signal and
checks each one is gone afterwards. The time each stop took is printed (``-s`` shows it); the tests
only fail on a stop that hangs (``HANG_SECONDS``), since speed is not what a test measures here.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.tools.localstack import create_topics, free_port, start_broker, start_redis, worker_env
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

HANG_SECONDS = 60.0  # far beyond any budget: past this the stop is stuck, not slow


def children_of(pid: int) -> dict[int, set[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, set()).add(int(entry))
    return tree


def descendants(pid: int) -> set[int]:
    tree = children_of(pid)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def leftovers(pids: set[int], grace: float = 15.0) -> set[int]:
    """The processes of ``pids`` still running after ``grace`` seconds (the extraction process of a
    worker notices its parent is gone within a second)."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        running = {pid for pid in pids if alive(pid)}
        if not running:
            return set()
        time.sleep(0.2)
    return {pid for pid in pids if alive(pid)}


def start_worker(settings: Any, log: Path) -> subprocess.Popen[bytes]:
    """``streams worker`` with these settings on a free web port, its output in ``log``."""
    env = worker_env(settings, free_port())
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


class Terminal:
    """``streams ARGS`` in a new pseudo-terminal, as its foreground process: Ctrl-C is a keystroke."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        environment = {**os.environ, "COLUMNS": "200", **(env or {})}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its own session, the pty its controlling terminal
            if cwd is not None:
                os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "streams", *args], environment)  # noqa: S606
        self.output = b""
        self.status: int | None = None

    def read(self, timeout: float = 0.2) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):  # EIO: the child closed the terminal
                self.output += os.read(self.fd, 65536)

    @property
    def text(self) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.output.decode("utf-8", "replace"))

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            match = re.search(pattern, self.text)
            if match:
                return match
            if self.poll() is not None:
                break
        pytest.fail(f"{pattern!r} not seen (exit {self.status}); output:\n{self.text[-3000:]}")

    def press(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float = HANG_SECONDS) -> float:
        """Seconds until it exited; fails if it did not within ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.read(0.05)
            if self.poll() is not None:
                return time.monotonic() - started
        os.kill(self.pid, signal.SIGKILL)
        pytest.fail(f"still running {timeout:.0f}s after the signal; output:\n{self.text[-3000:]}")

    def close(self) -> None:
        if self.poll() is None:
            # A test that failed while it ran: what it started (in sessions of their own) goes with it.
            started = descendants(self.pid)
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            for pid in started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        os.close(self.fd)


@pytest.fixture
def terminal() -> Any:
    opened: list[Terminal] = []

    def start(*args: str, **kwargs: Any) -> Terminal:
        opened.append(Terminal(*args, **kwargs))
        return opened[-1]

    yield start
    for term in opened:
        term.close()


def started_processes(term: Terminal, workers: int) -> set[int]:
    """The broker, Redis, the workers and their children, once all are up."""

    def complete() -> bool:
        found = descendants(term.pid)
        # broker + Redis + the workers, each with its extraction process, its offload process and spawn's
        # resource tracker
        return len(found) >= 2 + 4 * workers

    wait_until(complete, 120, "the workers' extraction and offload processes")
    return descendants(term.pid)


def log_folder(term: Terminal) -> Path:
    return Path(term.expect(r"logs (\S*streams-dev-\S+)", 120).group(1))


def test_ctrl_c_in_a_terminal_stops_dev_and_everything_it_started(terminal):
    term = terminal("dev", "--keep-running")
    folder = log_folder(term)
    term.expect("Ctrl-C stops it", 180)
    pids = started_processes(term, workers=1)
    term.press(b"\x03")
    seconds = term.wait()
    print(f"streams dev stopped {seconds:.1f}s after Ctrl-C; {len(pids)} processes it started")
    assert term.status == 0, term.text[-2000:]
    assert leftovers(pids) == set()
    assert not folder.exists(), "the log folder of a clean run is removed"


def test_sigterm_stops_dev_while_its_workers_start(terminal):
    term = terminal("dev", "--workers", "2")
    folder = log_folder(term)  # printed once broker, Redis and the worker processes are started
    pids = descendants(term.pid)
    assert len(pids) >= 4
    os.kill(term.pid, signal.SIGTERM)
    seconds = term.wait()
    print(f"streams dev stopped {seconds:.1f}s after SIGTERM; {len(pids)} processes it started")
    assert term.status == 128 + signal.SIGTERM, term.text[-2000:]
    assert "stopped (SIGTERM)" in term.text
    assert leftovers(pids) == set()
    assert not folder.exists()


def test_a_second_ctrl_c_stops_dev_at_once(terminal):
    term = terminal("dev", "--keep-running")
    folder = log_folder(term)
    term.expect("Ctrl-C stops it", 180)
    pids = started_processes(term, workers=1)
    term.press(b"\x03")
    time.sleep(0.3)
    term.press(b"\x03")
    seconds = term.wait()
    print(f"streams dev stopped {seconds:.1f}s after two Ctrl-C; {len(pids)} processes it started")
    assert leftovers(pids) == set()
    assert not folder.exists()


def test_a_failed_dev_run_keeps_its_logs_and_says_where(terminal):
    # A worker that cannot bind its web server exits: the decisions never arrive.
    term = terminal("dev", "--timeout", "20", env={"STREAMS_WEB_HOST": "192.0.2.1"})
    folder = Path(term.expect(r"logs kept in (\S+)", 240).group(1))
    term.wait()
    assert term.status == 1
    assert (folder / "worker-0.log").exists()
    shutil.rmtree(folder)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_worker_waiting_for_redis_stops_on_a_signal(broker, tmp_path: Path, signum: signal.Signals):
    """Redis is not there (a closed port): the worker says so and waits; SIGTERM or SIGINT still stops it,
    with everything it started."""
    settings = make_settings(broker, f"redis://127.0.0.1:{free_port()}/0")
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log)
    try:
        wait_until(lambda: "redis unavailable" in log.read_text(errors="replace"), 120, "the worker to wait")
        pids = {worker.pid, *descendants(worker.pid)}
        started = time.monotonic()
        worker.send_signal(signum)
        worker.wait(HANG_SECONDS)
        print(f"worker waiting for Redis stopped {time.monotonic() - started:.1f}s after {signum.name}")
        assert worker.returncode == 0, log.read_text()[-3000:]
        assert leftovers(pids) == set()
        assert not (tmp_path / "streams-dedup-data").exists()
    finally:
        if worker.poll() is None:
            worker.kill()


def test_a_wrong_redis_password_stops_the_worker_at_start_with_the_reason(broker, tmp_path: Path):
    with start_redis(tmp_path / "redis", extra_args=["--requirepass", "right-password"]) as redis:
        url = f"redis://:wrong-password@127.0.0.1:{redis.port}/0"
        settings = make_settings(broker, url)
        env = worker_env(settings, free_port())
        run = subprocess.run(
            [sys.executable, "-m", "streams", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS * 2,
            check=False,
        )
    assert run.returncode == 1
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "refused the credentials" in line]
    assert len(lines) == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "check the user and password in STREAMS_REDIS_URL" in lines[0]
    assert "wrong-password" not in run.stdout + run.stderr


def test_closing_the_terminal_stops_dev_and_everything_it_started(terminal):
    term = terminal("dev", "--keep-running")
    folder = log_folder(term)
    term.expect("Ctrl-C stops it", 180)
    pids = started_processes(term, workers=1)
    os.close(term.fd)  # the terminal goes away: the kernel sends SIGHUP to its foreground processes
    term.fd = os.open("/dev/null", os.O_RDONLY)  # for the fixture's close
    started = time.monotonic()
    while term.poll() is None and time.monotonic() - started < HANG_SECONDS:
        time.sleep(0.1)
    print(f"streams dev stopped {time.monotonic() - started:.1f}s after its terminal closed")
    assert term.status is not None, "still running after its terminal closed"
    assert leftovers(pids) == set()
    assert not folder.exists(), "a stop is a clean exit: its logs are removed"


def test_ctrl_c_in_a_terminal_stops_a_worker(terminal, broker, tmp_path: Path):
    settings = make_settings(broker, f"redis://127.0.0.1:{free_port()}/0")
    env = worker_env(settings, free_port())
    term = terminal("worker", env=env, cwd=tmp_path)
    term.expect("redis unavailable", 120)
    pids = {term.pid, *descendants(term.pid)}
    term.press(b"\x03")
    seconds = term.wait()
    print(f"streams worker stopped {seconds:.1f}s after Ctrl-C")
    assert term.status == 0, term.text[-3000:]
    assert leftovers(pids) == set()
    assert list(tmp_path.iterdir()) == [], "no data folder left in the working directory"


def test_a_worker_whose_broker_died_still_stops_on_sigterm(tmp_path: Path, redis_url: str):
    """The broker is SIGKILLed under a running worker (as when a terminal's Ctrl-C reached it first):
    Faust's own stop would wait for the broker; the shutdown budget ends the process anyway."""
    with start_broker(tmp_path / "broker") as own_broker:
        settings = make_settings(own_broker, redis_url)
        create_topics(own_broker.bootstrap, [settings.topic_raw, *settings.output_topics], 4)
        log = tmp_path / "worker.log"
        worker = start_worker(settings, log)
        try:
            wait_until(lambda: "index ready" in log.read_text(errors="replace"), 120, "the worker to start")
            pids = {worker.pid, *descendants(worker.pid)}
            own_broker.kill()
            time.sleep(1)
            started = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            worker.wait(HANG_SECONDS)
            print(f"worker without its broker stopped {time.monotonic() - started:.1f}s after SIGTERM")
            assert worker.returncode in (0, 1), log.read_text()[-3000:]
            assert leftovers(pids) == set()
        finally:
            if worker.poll() is None:
                worker.kill()
