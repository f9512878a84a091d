"""The worker: the decide-and-publish loop (:class:`DedupWorker`) and the Faust agent that runs it.

The agent reads raw bytes, so a bad message is a rejection rather than a crash. It takes batches
without acking, decides them (one Redis round trip per batch, one atomic script call per article),
publishes every decision to the topic of its status (``Settings.output_topic_by_status``), waits for
the broker to confirm each send, and only then acks the events, so an offset is committed only after
its decision is on an output topic. If Redis is unavailable the batch waits and retries with backoff;
nothing is published and nothing is acked meanwhile. What the worker reports beyond its retries and
stage timings (decision counts, lag, gauges, the index sweep, the status page's duplicates) is in
:mod:`streams.telemetry`.

Stopping (SIGTERM, SIGINT): no new batch starts; a batch whose decisions are being published gets the
rest of ``STREAMS_SHUTDOWN_SECONDS`` to be confirmed and acked; a batch still waiting for Redis (or for
a broker that refuses it) is abandoned, neither published nor acked, so it is redelivered. Then Faust
commits what was acked and the process exits; past the budget it exits anyway (:class:`ShutdownBudget`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import random
import shutil
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, cast

import faust
import orjson

from streams.dedup import Deduplicator, PreparedArticle, index_config
from streams.errors import IndexAuthFailed, IndexReset, IndexUnavailable
from streams.fingerprint import NATIVE_CORE
from streams.index import Index, RedisIndex
from streams.metrics import Metrics
from streams.models import Decision, Rejection, SourcePosition
from streams.settings import Settings, redacted_url
from streams.telemetry import SWEEP_INTERVAL_SECONDS, Event, WorkerTelemetry
from streams.topics import Topics

log = logging.getLogger("streams.worker")

T = TypeVar("T")


class WorkerStopping(Exception):
    """The worker is stopping: the batch is abandoned unpublished and unacked (it will be redelivered)."""


class ShutdownBudget:
    """Ends the process if a stop takes longer than its budget: a worker never ignores SIGTERM.

    A daemon thread, so it fires even while the event loop waits on a dead broker or Redis.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started_at: float | None = None
        self._timer: threading.Timer | None = None

    def start(self, reason: str) -> None:
        if self._timer is not None:
            return
        self.started_at = time.monotonic()
        log.info("stopping", extra={"reason": reason, "budget_seconds": self.seconds})
        self._timer = threading.Timer(self.seconds, self.expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        if self.started_at is None:
            return self.seconds
        return max(0.0, self.seconds - (time.monotonic() - self.started_at))

    def expire(self) -> None:
        log.error(
            "shutdown budget exceeded: exiting now; unacknowledged articles will be redelivered",
            extra={"budget_seconds": self.seconds},
        )
        self.exit_now(1)

    #: Folders to remove even on an exit that skips the interpreter's cleanup (Faust's temporary data).
    temporary_dirs: ClassVar[list[str]] = []

    @classmethod
    def exit_now(cls, code: int) -> None:
        for path in cls.temporary_dirs:
            shutil.rmtree(path, ignore_errors=True)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)


def encode_decision(decision: Decision) -> bytes:
    """The JSON body of a decision, as published: compact UTF-8."""
    body = decision.to_dict()
    try:
        return orjson.dumps(body)
    except TypeError:  # parse_article rejects integers beyond 64 bits; a record built elsewhere may not
        # allow_nan=False: a ValueError (a bug of ours, logged) rather than Infinity, which is not JSON.
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class DecisionProducer(Protocol):
    """What the loop uses of a Kafka producer (Faust's ``ProducerT``): ``send`` returns once the message
    is queued, with a future the broker's confirmation resolves."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> Awaitable[Any]: ...


class DedupWorker:
    """The decide-and-publish loop: decides batches of raw messages against ``index`` and publishes each
    decision to its topic, retrying (never guessing, never dropping) while Redis or the broker is down.

    ``producer`` returns the started producer (Faust's ``app.maybe_start_producer``). What the loop
    published is counted by its :attr:`telemetry`.
    """

    def __init__(
        self,
        settings: Settings,
        index: Index,
        metrics: Metrics,
        producer: Callable[[], Awaitable[DecisionProducer]],
    ) -> None:
        self.settings = settings
        self.index = index
        self.metrics = metrics
        self.producer = producer
        self.engine = Deduplicator(settings, index)
        self.telemetry = WorkerTelemetry(settings, index, metrics, self.engine.chrome)
        self.output_topic_by_status = settings.output_topic_by_status
        self.index_open = False
        self.stopping = asyncio.Event()
        self.budget = ShutdownBudget(settings.shutdown_seconds)
        self.in_flight: set[asyncio.Future[None]] = set()

    def begin_stop(self, reason: str) -> None:
        """Stop taking batches and abandon those waiting; the budget's clock starts now."""
        self.budget.start(reason)
        self.stopping.set()

    async def drain(self) -> None:
        """Wait (within the budget) for the batches in flight to be published and acked, or abandoned."""
        pending = [f for f in self.in_flight if not f.done()]
        if pending:
            # Half the budget: Faust's own stop (commit, leave the group, flush) needs the rest.
            await asyncio.wait(pending, timeout=self.budget.remaining() / 2)
        unfinished = sum(not f.done() for f in self.in_flight)
        if unfinished:
            log.warning("stopping with batches still in flight", extra={"batches": unfinished})

    async def _unless_stopping(self, call: Awaitable[T]) -> T:
        """``call``'s result, or :class:`WorkerStopping` as soon as the worker starts stopping.

        The Redis client retries with backoff inside one call (seconds, in an outage); a stop must not wait
        for it. A decision Redis made but we never read is replayed when the batch comes again.
        """
        if self.stopping.is_set():
            raise WorkerStopping()
        task = asyncio.ensure_future(call)
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()  # also when this coroutine itself is cancelled
        if not task.done() or task.cancelled():
            raise WorkerStopping()
        return task.result()

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the worker starts stopping; then raise if it is stopping."""
        if not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)
        if self.stopping.is_set():
            raise WorkerStopping()

    async def open_index(self) -> None:
        """Open the index at start: a refused password is fatal here (one line), an outage is waited out."""
        try:
            await self._wait_for_index(fatal_auth=True)
        except WorkerStopping:
            return
        except IndexAuthFailed as exc:
            log.critical(
                "redis at %s refused the credentials (%s): check the user and password in STREAMS_REDIS_URL",
                redacted_url(self.settings.redis_url.get_secret_value()),
                _reason(exc),
            )
            self.budget.exit_now(1)

    async def _wait_for_index(self, fatal_auth: bool = False) -> None:
        attempt = 0
        while True:
            if self.stopping.is_set():
                raise WorkerStopping()
            try:
                epoch = await self._unless_stopping(self.index.open())
                self.metrics.redis_up.set(1)
                log.info(
                    "index ready",
                    extra={
                        "prefix": self.index.config.prefix,
                        "epoch": epoch,
                        # "python" means the compiled text core was not built: fingerprinting costs 2-4x more.
                        "fingerprint_core": "native" if NATIVE_CORE else "python",
                    },
                )
                self.index_open = True
                return
            except IndexAuthFailed as exc:
                if fatal_auth:
                    raise
                attempt += 1
                self._note_redis_down(exc, attempt)
                await self._pause(self._backoff(attempt))
            except IndexUnavailable as exc:
                attempt += 1
                self._note_redis_down(exc, attempt)
                await self._pause(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        cap = self.settings.redis_backoff_cap_seconds
        return float(min(cap, 0.1 * 2 ** min(attempt, 10)) * (0.5 + random.random() / 2))

    def _note_redis_down(self, exc: BaseException, attempt: int) -> None:
        self.metrics.redis_up.set(0)
        self.metrics.redis_retries.inc()
        if isinstance(exc, IndexAuthFailed):
            # Credentials changed under a running worker (a rotated password): say why, keep waiting.
            self.metrics.redis_errors.labels(kind="auth").inc()
            log.error(
                "redis refused the credentials, batch waits (%s): check the password in STREAMS_REDIS_URL",
                _reason(exc),
                extra={"attempt": attempt},
            )
            return
        self.metrics.redis_errors.labels(kind="unavailable").inc()
        log.warning("redis unavailable, batch waits", extra={"attempt": attempt, "error": str(exc)[:200]})

    async def decide(self, messages: Sequence[tuple[bytes, SourcePosition]]) -> list[Decision]:
        """Decisions for a batch, retrying (never guessing) while Redis is down."""
        return await self.decide_prepared(await self.prepare(messages))

    async def prepare(
        self, messages: Sequence[tuple[bytes, SourcePosition]]
    ) -> list[PreparedArticle | Rejection]:
        """Parse, clean and fingerprint a batch: the CPU work, no Redis."""
        shared_before = self.engine.shared
        prepared = await self.engine.prepare_many(messages)
        self.metrics.offloaded.inc(self.engine.shared - shared_before)
        for item in prepared:
            if isinstance(item, PreparedArticle):
                for stage, seconds in item.timings.items():
                    self.metrics.stage_seconds.labels(stage=stage).observe(seconds)
                if item.chrome_dropped:
                    self.metrics.chrome_stripped.inc()
        return prepared

    async def decide_prepared(self, prepared: Sequence[PreparedArticle | Rejection]) -> list[Decision]:
        """The index's decisions for a prepared batch, retrying (never guessing) while Redis is down."""
        if not self.index_open:
            await self._wait_for_index()
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                replayed_before = self.engine.replayed
                decisions = await self._unless_stopping(self.engine.decide_prepared(prepared))
                self.metrics.replays.inc(self.engine.replayed - replayed_before)
            except IndexUnavailable as exc:
                attempt += 1
                self._note_redis_down(exc, attempt)
                await self._pause(self._backoff(attempt))
                continue
            except IndexReset as exc:
                # Redis came back without the index. The past cannot be recovered; say so loudly and
                # go on with a new epoch rather than stall the pipeline forever.
                self.metrics.index_resets.inc()
                log.error("INDEX RESET: %s; earlier articles are no longer known to the index", exc)
                await self._wait_for_index()
                continue
            self.metrics.redis_up.set(1)
            n_articles = sum(isinstance(p, PreparedArticle) for p in prepared)
            if n_articles:
                per_article = (time.perf_counter() - started) / n_articles
                self._observe_per_article("index", per_article, n_articles)
            return decisions

    async def run(
        self, batches: AsyncIterator[Sequence[Event]], ack: Callable[[Event], Awaitable[object]]
    ) -> None:
        """Decide and publish every batch taken, acking each event only once its decision is published.

        A pipeline two batches deep: a batch is parsed, cleaned and fingerprinted (CPU) while the
        previous one is in Redis and at the broker. Index calls still go one batch after the other, in
        stream order, so the decisions are those of the one-batch-at-a-time loop. Once the worker is
        stopping, a batch taken is not started (never acked, so redelivered), and the batches in flight
        get the rest of the shutdown budget.
        """

        async def finish_and_ack(
            events: Sequence[Event],
            prepared: Sequence[PreparedArticle | Rejection],
            after: asyncio.Future[None] | None,
            indexed: asyncio.Future[None],
        ) -> None:
            await self.finish(events, prepared, after, indexed)
            for event in events:
                await ack(event)

        in_flight: list[asyncio.Future[None]] = []
        indexed: asyncio.Future[None] | None = None
        try:
            async for events in batches:
                if self.stopping.is_set():
                    continue  # taken but not started: never acked, so redelivered
                prepared = await self.prepare_events(events)
                while len(in_flight) >= 2:
                    with contextlib.suppress(WorkerStopping):
                        await in_flight.pop(0)
                if self.stopping.is_set():
                    continue
                done = asyncio.get_running_loop().create_future()
                # A batch abandoned while stopping fails this (and its task) with WorkerStopping; when
                # nothing awaits them any more, marking them retrieved keeps asyncio from logging an error.
                done.add_done_callback(_retrieve)
                task: asyncio.Future[None] = asyncio.ensure_future(
                    finish_and_ack(events, prepared, indexed, done)
                )
                in_flight.append(task)
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                task.add_done_callback(_retrieve)  # an abandoned batch fails with WorkerStopping: expected
                indexed = done
        finally:
            # Stopping: let decided batches finish publishing, within the budget; what is not acked is
            # redelivered.
            if in_flight:
                await asyncio.wait(in_flight, timeout=max(0.1, self.budget.remaining()))
            for task in in_flight:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: an abandoned batch is expected here, not an error

    async def process(self, events: Sequence[Event]) -> None:
        """Decide and publish a batch; returns once the broker has every decision."""
        await self.finish(events, await self.prepare_events(events))

    async def prepare_events(self, events: Sequence[Event]) -> list[PreparedArticle | Rejection]:
        """The CPU half of :meth:`process`: parse, clean and fingerprint the batch's messages."""
        self.metrics.articles_in.inc(len(events))
        self.metrics.batch_size.observe(len(events))
        messages = []
        for event in events:
            msg = event.message
            value = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
            messages.append((value, SourcePosition(msg.topic, msg.partition, msg.offset)))
        return await self.prepare(messages)

    async def finish(
        self,
        events: Sequence[Event],
        prepared: Sequence[PreparedArticle | Rejection],
        after: asyncio.Future[None] | None = None,
        indexed: asyncio.Future[None] | None = None,
    ) -> None:
        """The I/O half of :meth:`process`: the index call, then publish; returns once the broker has all.

        With ``after``, the index call waits for it (the previous batch's index call), so batches reach
        the index in stream order; ``indexed`` is resolved once this batch's index call returned.
        """
        try:
            if after is not None:
                await after
            decisions = await self.decide_prepared(prepared)
        except BaseException as exc:
            if indexed is not None and not indexed.done():
                indexed.set_exception(exc)
            raise
        if indexed is not None and not indexed.done():
            indexed.set_result(None)
        started = time.perf_counter()
        await self.publish(events, decisions)
        self._observe_per_article("publish", (time.perf_counter() - started) / len(events), len(events))
        self.telemetry.published(events, decisions)

    def _observe_per_article(self, stage: str, seconds: float, articles: int) -> None:
        # A batch shares one round trip; its per-article share is observed once per article, so every
        # stage's histogram counts articles and the stages' percentiles compare.
        histogram = self.metrics.stage_seconds.labels(stage=stage)
        for _ in range(articles):
            histogram.observe(seconds)

    async def publish(self, events: Sequence[Event], decisions: Sequence[Decision]) -> None:
        """Send every decision and wait for the broker to confirm all of them, retrying the batch.

        The decisions go straight to the app's producer (Faust's ``Topic.send`` wraps each message in
        futures and sensor calls that cost more than the send itself; it has no codec to apply to raw
        bytes). A retried batch may publish some decisions twice; they are identical, which the README's
        guarantees allow (consumers key by article id).
        """
        attempt = 0
        while True:
            try:
                producer = await self.producer()
                pending = [
                    await producer.send(
                        self.output_topic_by_status[decision.status],
                        key=_decision_key(decision, event),
                        value=encode_decision(decision),
                        partition=None,  # by key, the default partitioner
                        timestamp=None,  # now
                        headers=None,
                    )
                    for event, decision in zip(events, decisions, strict=True)
                ]
                await asyncio.gather(*pending)
                return
            except Exception as exc:  # the broker is the only way out: never drop, never ack
                attempt += 1
                self.metrics.publish_errors.inc()
                log.error(
                    "publishing decisions failed, retrying", extra={"attempt": attempt, "error": repr(exc)}
                )
                await self._pause(self._backoff(attempt))


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _reason(exc: BaseException) -> str:
    """The server's own words, without our prefix: ``WRONGPASS invalid username-password pair ...``."""
    return str(exc).removeprefix("Redis refused the credentials: ")[:200]


def _decision_key(decision: Decision, event: Event) -> bytes:
    if decision.id:
        return decision.id.encode("utf-8")
    if event.message.key:
        return bytes(event.message.key)
    msg = event.message
    return f"{msg.topic}:{msg.partition}:{msg.offset}".encode()


def register(
    app: faust.App, settings: Settings, topics: Topics, metrics: Metrics
) -> tuple[DedupWorker, WorkerTelemetry]:
    """Attach the agent and the periodic tasks to the app; returns the worker and its telemetry."""
    index = RedisIndex.from_url(
        settings.redis_url.get_secret_value(),
        index_config(settings),
        retries=settings.redis_retries,
        backoff_cap=settings.redis_backoff_cap_seconds,
    )
    worker = DedupWorker(settings, index, metrics, app.maybe_start_producer)
    telemetry = worker.telemetry

    @app.agent(topics.raw, name="deduplicate_articles")
    async def deduplicate_articles(stream: faust.StreamT[bytes]) -> None:
        # noack_take is on faust.Stream, not the StreamT protocol, and yields events although typed as
        # values: the worker acks each event itself, only once its decision is published.
        taken = cast(faust.Stream[bytes], stream).noack_take(
            settings.batch_max_articles, settings.batch_seconds
        )
        # Small inputs are cleaned inline; the process for the long ones starts now, not on the first one
        # (about 0.6 s, seconds on a busy machine, that the batch holding it would wait), and so does the
        # one that prepares part of each large batch.
        worker.engine.start_extraction_process()
        worker.engine.start_offload_process()
        # Everything the worker built while starting (Faust, aiokafka, the imports) lives as long as the
        # process: frozen, it is no longer scanned by every full collection, which took 30-70 ms each
        # (measured in a running worker) and stalled every batch in flight meanwhile.
        gc.collect()
        gc.freeze()
        await worker.run(cast(AsyncIterator[Sequence[Event]], taken), stream.ack)

    @app.task
    async def open_index() -> None:
        await worker.open_index()

    @app.timer(interval=5.0)
    async def refresh_index_gauges() -> None:
        await telemetry.refresh_gauges()

    @app.timer(interval=SWEEP_INTERVAL_SECONDS)
    async def sweep_index() -> None:
        if worker.index_open:  # until then open_index reports Redis down or refusing us: no noise here
            await telemetry.sweep_index()

    @app.timer(interval=5.0)
    async def refresh_consumer_lag() -> None:
        try:
            await telemetry.refresh_lag(app.consumer)
        except Exception as exc:  # lag is best effort: the consumer may be rebalancing
            log.debug("lag refresh failed: %s", exc)

    async def forget_revoked_partitions(sender: Any, *args: Any, **kwargs: Any) -> None:
        telemetry.forget_partitions(args[0] if args else ())  # the signal sends (app, revoked)

    # mode types its handlers with an unresolvable string annotation; the handler matches at run time.
    app.on_partitions_revoked.connect(forget_revoked_partitions)  # type: ignore[arg-type]

    return worker, telemetry
