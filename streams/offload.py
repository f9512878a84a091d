"""A process beside the worker that prepares part of each batch: the pipe to it, and the size of its part.

A worker's core is its limit: it consumes, prepares, calls Redis and publishes on one thread. A second
process takes the last part of a batch of short inputs while the worker prepares the rest
(:meth:`streams.dedup.Deduplicator.prepare_many`). Requests and replies go over a
``multiprocessing`` pipe (pickled, as ``concurrent.futures`` does, between this project's own two
processes only: nothing from the network or Redis) that the worker writes and reads from its event loop
thread (``loop.add_reader``). Not through ``concurrent.futures``: its hand-offs go through two more
threads, and each waits for the worker's thread to let go of the interpreter lock (up to its 5 ms switch
interval) while the worker is busy preparing, which is when the reply matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Where the CPU quota of this process's cgroup is read (v2, then v1); tests point it elsewhere.
CGROUP_ROOT = Path("/sys/fs/cgroup")

_READY = "ready"


def _serve(conn: Connection, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The process's loop: a request in, ``work(request, *args)`` out, until the worker closes the pipe."""
    # Ctrl-C reaches the whole process group: the worker stops on it, and this process ends when the
    # worker closes the pipe (or dies), not halfway through a reply with a traceback on the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(_READY)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the worker closed the pipe, or died: this process ends with it
            return
        try:
            conn.send(work(request, *args))
        except OSError:  # the worker is gone
            return


class OffloadProcess:
    """A process that runs ``work(request, *args)`` for one request at a time (``work`` must be a
    module-level function: the process is spawned, not forked, from a worker running threads)."""

    def __init__(self, work: Callable[..., Any], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe(duplex=True)
        self._process = context.Process(
            target=_serve, args=(child, work, args), name="streams-offload", daemon=True
        )
        try:
            self._process.start()
        except BaseException:
            self._conn.close()
            raise
        finally:
            child.close()
        self.loop = asyncio.get_running_loop()  # the event loop that reads the replies
        self.loop.add_reader(self._conn.fileno(), self._on_readable)
        self._pending: asyncio.Future[Any] | None = None
        self._sent_at = 0.0
        self.started: asyncio.Future[None] = self.loop.create_future()  # resolved once ready (or closed)
        self.started.add_done_callback(_retrieve)
        self.ready = False  # the process has started and imported what it runs
        self.closed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def idle(self) -> bool:
        """Ready for a request from this event loop: started, not closed, and none in flight."""
        current = asyncio.get_running_loop()
        return self.ready and not self.closed and self._pending is None and self.loop is current

    def busy_seconds(self) -> float:
        """How long the request in flight has been waiting for its reply (0 with none in flight)."""
        return time.monotonic() - self._sent_at if self._pending is not None else 0.0

    def submit(self, request: Any) -> asyncio.Future[Any]:
        """Send a request (the process must be :attr:`idle`); the future resolves with ``work``'s result."""
        if not self.idle:
            raise RuntimeError("the offload process is not idle")
        future = self.loop.create_future()
        self._pending, self._sent_at = future, time.monotonic()
        try:
            self._conn.send(request)
        except OSError as exc:
            self.close()
            if not future.done():
                future.set_exception(exc)
        return future

    def _on_readable(self) -> None:
        try:
            reply = self._conn.recv()
        except (EOFError, OSError) as exc:
            log.warning("the offload process ended", extra={"pid": self.pid, "error": repr(exc)})
            self.close()
            return
        if isinstance(reply, str) and reply == _READY:
            self.ready = True
            if not self.started.done():
                self.started.set_result(None)
            return
        future, self._pending = self._pending, None
        if future is not None and not future.done():
            future.set_result(reply)

    def close(self) -> None:
        """Stop the process (killed: it holds nothing but a request) and fail a request in flight."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self._conn.fileno())
        with contextlib.suppress(Exception):
            self._conn.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=1.0)
        if not self.started.done():
            self.started.set_exception(EOFError("the offload process was stopped"))
        future, self._pending = self._pending, None
        if future is not None and not future.done():
            future.set_exception(EOFError("the offload process was stopped"))


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # a process that never started is reported where it is used, not by asyncio


class PrepareSplit:
    """How much of each batch the offload process prepares while the worker prepares the rest.

    The share grows while the process's reply is sent before the worker is done with its own part, and
    shrinks when it comes later than :attr:`LATE_SECONDS` after (both by one clock, :func:`time.monotonic`).
    A little late costs nothing: the worker's event loop meanwhile publishes the previous batch and
    takes in the next. On a busy machine, where the process has no core of its own, its replies come
    late and its share falls.
    """

    #: Fewer articles than this are all prepared in the worker: a round trip to the process costs
    #: about 1 ms, and small batches come at low rates, where latency matters and the core is idle.
    MIN_ARTICLES = 16
    #: The least share once enabled: the process keeps a part, so its pace stays measured.
    MIN_SHARE = 0.05
    #: How much the share moves after each batch.
    STEP = 0.02
    #: A reply sent later than this after the worker's part was done counts as late.
    LATE_SECONDS = 0.002

    def __init__(self, max_share: float) -> None:
        self.max_share = max_share
        self.share = max_share  # a process just started is idle: a late reply soon shows a busy machine

    def count(self, articles: int) -> int:
        """Articles of a batch of ``articles`` to prepare in the offload process."""
        if self.max_share <= 0 or articles < self.MIN_ARTICLES:
            return 0
        return max(1, round(self.share * articles))

    def answered(self, late: float) -> None:
        """The process sent its reply ``late`` seconds after the worker was done with its own part
        (negative: before)."""
        step = -self.STEP if late > self.LATE_SECONDS else self.STEP
        self.share = min(self.max_share, max(min(self.MIN_SHARE, self.max_share), self.share + step))


def available_cpus(cgroup_root: Path | None = None) -> float:
    """The CPUs this process may use: those it may run on, capped by its cgroup's CPU quota (a container's
    CPU limit), where there is one."""
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        cpus = float(os.cpu_count() or 1)
    quota = _cgroup_cpu_quota(CGROUP_ROOT if cgroup_root is None else cgroup_root)
    return cpus if quota is None else min(cpus, quota)


def _cgroup_cpu_quota(root: Path) -> float | None:
    """The CPU quota in CPUs (cgroup v2's ``cpu.max``, else v1's ``cfs`` pair); None when unlimited or
    unreadable."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1") or int(period) <= 0:
        return None
    return int(quota) / int(period)


def usable_max_share(max_share: float, cpus: float) -> float:
    """The cap a worker with ``cpus`` available uses: none below two CPUs, where the offload process
    would only take the worker's own CPU and add the cost of the pipe."""
    return max_share if cpus >= 2 else 0.0
