"""Faust glue: the ``deduplicate_articles`` agent and the work it does per batch.

The agent reads raw bytes, so a bad message is a rejection rather than a crash. It takes batches
without acking, decides them (one Redis round trip per batch, one atomic script call per article),
publishes every decision, waits for the broker to confirm each send, and only then acks the events,
so an offset is committed only after its decision is on an output topic. If Redis is unavailable the
batch waits and retries with backoff; nothing is published and nothing is acked meanwhile.

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
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, ClassVar, TypeVar, cast

import faust
import orjson

from streams.dedup import Deduplicator, PreparedArticle, index_config
from streams.errors import IndexAuthFailed, IndexReset, IndexUnavailable
from streams.fingerprint import NATIVE_CORE
from streams.index import RedisIndex, sweep_shards_per_call
from streams.metrics import Metrics, SourceLabels
from streams.models import Decision, DuplicateArticle, Rejection, SourcePosition, UniqueArticle
from streams.settings import Settings, redacted_url
from streams.topics import Topics

log = logging.getLogger("streams.worker")

Event = faust.EventT[bytes]
T = TypeVar("T")
SWEEP_INTERVAL_SECONDS = 5.0


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


class DedupWorker:
    """Decides and publishes batches of raw messages; owns the index connection and the metrics."""

    def __init__(self, settings: Settings, topics: Topics, metrics: Metrics) -> None:
        self.settings = settings
        self.topics = topics
        self.metrics = metrics
        self.sources = SourceLabels(settings.source_label_limit, on_drop=metrics.forget_source)
        self.index = RedisIndex.from_url(
            settings.redis_url.get_secret_value(),
            index_config(settings),
            retries=settings.redis_retries,
            backoff_cap=settings.redis_backoff_cap_seconds,
        )
        self.engine = Deduplicator(settings, self.index)
        self.recent: list[dict[str, Any]] = []  # latest duplicates, for the status page
        # Next offset to decide per raw partition, for the consumer-lag gauge; and the lag series set.
        self.positions: dict[tuple[str, int], int] = {}
        self._lag_series: set[tuple[str, str]] = set()
        self._opened = False
        self._sweep_shards = sweep_shards_per_call(self.index.config, SWEEP_INTERVAL_SECONDS)
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
                self._opened = True
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
        prepared = await self.engine.prepare_many(messages)
        for item in prepared:
            if isinstance(item, PreparedArticle):
                for stage, seconds in item.timings.items():
                    self.metrics.stage_seconds.labels(stage=stage).observe(seconds)
                if item.chrome_dropped:
                    self.metrics.chrome_stripped.inc()
        return prepared

    async def decide_prepared(self, prepared: Sequence[PreparedArticle | Rejection]) -> list[Decision]:
        """The index's decisions for a prepared batch, retrying (never guessing) while Redis is down."""
        if not self._opened:
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

    def topic_name_for(self, decision: Decision) -> str:
        """The output topic of a decision."""
        if isinstance(decision, UniqueArticle):
            return self.settings.topic_unique
        if isinstance(decision, DuplicateArticle):
            return self.settings.topic_duplicates
        return self.settings.topic_rejected

    def record(self, decision: Decision, source: str | None, produced_at: float | None) -> None:
        """Count one published decision."""
        label = self.sources(source)
        if isinstance(decision, UniqueArticle):
            self.metrics.decisions.labels(outcome="unique", match="none", source=label).inc()
        elif isinstance(decision, DuplicateArticle):
            self.metrics.decisions.labels(outcome="duplicate", match=decision.match, source=label).inc()
            if decision.match == "near":
                self.metrics.similarity.labels(measure=decision.measure).observe(decision.similarity)
            self.recent.append(decision.to_dict())
            del self.recent[:-50]
        else:
            self.metrics.decisions.labels(outcome="rejected", match="none", source=label).inc()
            self.metrics.rejections.labels(code=decision.error).inc()
        if produced_at:
            self.metrics.end_to_end_seconds.observe(max(0.0, time.time() - produced_at))

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
        for event in events:
            self.positions[(event.message.topic, event.message.partition)] = event.message.offset + 1
        for event, decision in zip(events, decisions, strict=True):
            source = None if isinstance(decision, Rejection) else decision.source
            timestamp = event.message.timestamp
            self.record(decision, source, timestamp if timestamp and timestamp > 1e9 else None)

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
                producer = await self.topics.unique.app.maybe_start_producer()
                pending = [
                    await producer.send(
                        self.topic_name_for(decision),
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

    async def refresh_lag(self, consumer: Any) -> None:
        """Messages not decided yet per assigned raw partition: end offset minus the next offset to decide.

        The end offset is the larger of the broker's answer to ListOffsets (current even while the fetcher
        is paused) and the high watermark of the last fetch (tansu answers ListOffsets with the base offset
        of the partition's last record batch, measured; Kafka's answer is never below the fetch's). The
        next offset to decide is the one after the last article this worker decided; on a partition it
        has not decided anything on yet, the group's committed offset (Faust's own record, set at
        assignment and on every commit), or the partition's first offset when the group never committed
        (the consumer starts there). Not the fetch position: fetched is not decided.
        Partitions this worker no longer owns lose their series: their new owner reports them.
        """
        assigned = [tp for tp in consumer.assignment() if tp.topic == self.settings.topic_raw]
        owned = {(tp.topic, tp.partition) for tp in assigned}
        for key in [key for key in self.positions if key not in owned]:
            del self.positions[key]
        ends = await consumer.highwaters(*assigned) if assigned else {}
        committed = getattr(consumer, "_committed_offset", {})
        done = {tp: self.positions.get((tp.topic, tp.partition), committed.get(tp)) for tp in assigned}
        never_committed = [tp for tp, offset in done.items() if offset is None]
        if never_committed:
            done.update(await consumer.earliest_offsets(*never_committed))
        series: set[tuple[str, str]] = set()
        for tp in assigned:
            end = max((x for x in (ends.get(tp), consumer.highwater(tp)) if x is not None), default=None)
            if end is None or done.get(tp) is None:
                continue
            labels = (tp.topic, str(tp.partition))
            self.metrics.consumer_lag.labels(*labels).set(max(0, end - done[tp]))
            series.add(labels)
        for labels in self._lag_series - series:
            self.metrics.consumer_lag.remove(*labels)
        self._lag_series = series

    def forget_partitions(self, partitions: Any) -> None:
        """Drop the decided positions of revoked partitions: another worker may move them on."""
        for tp in partitions:
            self.positions.pop((tp.topic, tp.partition), None)

    async def sweep_index(self) -> None:
        """Reclaim the memory of index entries that have left the retention window, one slice a call."""
        if not self._opened:
            return
        try:
            result = await self.index.sweep(self._sweep_shards)
        except IndexUnavailable as exc:  # an outage: the batches report it; the next call goes on
            log.debug("index sweep skipped: %s", exc)
            return
        except Exception as exc:  # never takes the worker down: lookups skip stale entries anyway
            self.metrics.redis_errors.labels(kind="sweep").inc()
            log.warning("index sweep failed", extra={"error": repr(exc)[:300]})
            return
        self.metrics.index_swept.inc(result.entries_removed)
        if result.pass_completed:
            log.debug("index sweep pass completed", extra={"record_blocks": result.record_blocks_deleted})

    async def refresh_gauges(self) -> None:
        """Index size, known site chrome and Redis memory, for the dashboards."""
        self.metrics.chrome_hosts.set(self.engine.chrome.hosts())
        self.metrics.chrome_blocks.set(self.engine.chrome.blocks())
        try:
            self.metrics.index_articles.set(await self.index.size())
            self.metrics.index_band_evictions.set(await self.index.band_evictions())
            info = await self.index.client.info("memory")
            self.metrics.redis_memory_bytes.set(info.get("used_memory", 0))
            self.metrics.redis_up.set(1)
        except Exception as exc:  # a gauge refresh must never take the worker down
            self.metrics.redis_up.set(0)
            log.debug("gauge refresh failed: %s", exc)


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


def register(app: faust.App, settings: Settings, topics: Topics, metrics: Metrics) -> DedupWorker:
    """Attach the agent and the periodic tasks to the app; returns the worker state they share."""
    worker = DedupWorker(settings, topics, metrics)

    @app.agent(topics.raw, name="deduplicate_articles")
    async def deduplicate_articles(stream: faust.StreamT[bytes]) -> None:
        # noack_take is on faust.Stream, not the StreamT protocol, and yields events although typed as
        # values: we ack each event ourselves, only once its decision is published.
        taken = cast(faust.Stream[bytes], stream).noack_take(
            settings.batch_max_articles, settings.batch_seconds
        )
        batches = cast(AsyncIterator[Sequence[Event]], taken)

        async def finish_and_ack(
            events: Sequence[Event],
            prepared: Sequence[PreparedArticle | Rejection],
            after: asyncio.Future[None] | None,
            indexed: asyncio.Future[None],
        ) -> None:
            await worker.finish(events, prepared, after, indexed)
            for event in events:
                await stream.ack(event)

        # A pipeline two batches deep: this batch is parsed, cleaned and fingerprinted (CPU) while the
        # previous one is in Redis and at the broker. Index calls still go one batch after the other,
        # in stream order, so the decisions are those of the one-batch-at-a-time loop.
        in_flight: list[asyncio.Future[None]] = []
        indexed: asyncio.Future[None] | None = None
        # Everything the worker built while starting (Faust, aiokafka, the imports) lives as long as the
        # process: frozen, it is no longer scanned by every full collection, which took 30-70 ms each
        # (measured in a running worker) and stalled every batch in flight meanwhile.
        gc.collect()
        gc.freeze()
        try:
            async for events in batches:
                if worker.stopping.is_set():
                    continue  # taken but not started: never acked, so redelivered
                prepared = await worker.prepare_events(events)
                while len(in_flight) >= 2:
                    with contextlib.suppress(WorkerStopping):
                        await in_flight.pop(0)
                if worker.stopping.is_set():
                    continue
                done = asyncio.get_running_loop().create_future()
                task: asyncio.Future[None] = asyncio.ensure_future(
                    finish_and_ack(events, prepared, indexed, done)
                )
                in_flight.append(task)
                worker.in_flight.add(task)
                task.add_done_callback(worker.in_flight.discard)
                indexed = done
        finally:
            # Stopping: let decided batches finish publishing, within the budget; what is not acked is
            # redelivered.
            if in_flight:
                await asyncio.wait(in_flight, timeout=max(0.1, worker.budget.remaining()))
            for task in in_flight:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: an abandoned batch is expected here, not an error

    @app.task
    async def open_index() -> None:
        await worker.open_index()

    @app.timer(interval=5.0)
    async def refresh_index_gauges() -> None:
        await worker.refresh_gauges()

    @app.timer(interval=SWEEP_INTERVAL_SECONDS)
    async def sweep_index() -> None:
        await worker.sweep_index()

    @app.timer(interval=5.0)
    async def refresh_consumer_lag() -> None:
        try:
            await worker.refresh_lag(app.consumer)
        except Exception as exc:  # lag is best effort: the consumer may be rebalancing
            log.debug("lag refresh failed: %s", exc)

    async def forget_revoked_partitions(sender: Any, *args: Any, **kwargs: Any) -> None:
        worker.forget_partitions(args[0] if args else ())  # the signal sends (app, revoked)

    # mode types its handlers with an unresolvable string annotation; the handler matches at run time.
    app.on_partitions_revoked.connect(forget_revoked_partitions)  # type: ignore[arg-type]

    return worker
