"""The Faust app that ``streams worker`` runs.

The app is built from :class:`streams.settings.Settings` (environment variables ``STREAMS_*``) on first
use of ``streams.app.app`` (or :func:`create_app`), not on import: the CLI (:mod:`streams.cli`) shows
its help and reports a bad setting in one line without building it.
"""

from __future__ import annotations

import logging
import signal
import ssl
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import REGISTRY

from streams import agents
from streams.logs import configure_logging
from streams.metrics import Metrics
from streams.settings import Settings, get_settings
from streams.topics import Topics


def broker_credentials(settings: Settings) -> Any:
    """SASL and/or TLS credentials for the broker, from the settings (None for plaintext)."""
    context = None
    if settings.broker_ssl:
        context = ssl.create_default_context(cafile=settings.broker_ssl_cafile)
    if settings.broker_credentials_username:
        password = settings.broker_credentials_password
        return faust.SASLCredentials(
            username=settings.broker_credentials_username,
            password=password.get_secret_value() if password else "",
            mechanism=settings.broker_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def limit_fetch_wait(max_wait_ms: int) -> None:
    """Make Faust's worker consumer wait at most ``max_wait_ms`` for new messages per fetch.

    Faust hard-codes 1500 ms. A broker that answers a fetch only when the wait is over (tansu does,
    measured: a median 350 ms from produce to consume at low rates) then adds that much latency. Apache
    Kafka answers as soon as data is there, yet a long wait lengthens the tail there too (likely because
    aiokafka keeps one fetch in flight per broker: a partition whose records were just consumed waits for
    it): at half the max rate, p99 75 to 365 ms at 25 ms against 634 to 729 ms at Kafka's own default
    of 500 ms (``streams bench --broker kafka``, three runs of each, on a busy machine). 25 ms costs an
    idle Kafka about 5% more of a core in empty fetches per worker (benchmarks/fetch_wait.py).
    """
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread = faust_aiokafka.AIOKafkaConsumerThread
    create = getattr(thread, "_streams_original_create", thread._create_worker_consumer)

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # read when the consumer starts its fetcher
        return consumer

    thread._streams_original_create = create  # type: ignore[attr-defined]
    thread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]


def worker_class(app: faust.App, dedup: agents.DedupWorker) -> type[faust.Worker]:
    """Faust's worker (the process's signal handling) with the stop this project needs.

    On the first SIGTERM, SIGINT or SIGHUP the dedup worker stops taking batches and its in-flight ones are
    drained before Faust stops the consumer (which then commits what was acked); the shutdown budget
    ends the process if the stop takes longer. A second signal ends it at once.
    """

    class Worker(faust.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # Faust has just given the root logger its own console handler (and, on a terminal, its
            # spinner): ours again, so the worker logs as STREAMS_LOG_FORMAT says, extra fields included.
            super().on_setup_root_logger(logger, level)
            configure_logging(dedup.settings)

        def _install_signal_handlers_unix(self) -> None:
            super()._install_signal_handlers_unix()
            # The terminal it runs in was closed: stop as on SIGTERM rather than die mid-batch.
            self.loop.add_signal_handler(signal.SIGHUP, self._schedule_shutdown, signal.SIGHUP)

        def _schedule_shutdown(self, signal: signal.Signals) -> None:
            if self._signal_stop_time:
                agents.log.warning("second %s: exiting now", signal.name)
                dedup.budget.exit_now(1)
            dedup.begin_stop(signal.name)
            super()._schedule_shutdown(signal)

        async def _stop_on_signal(self, signal: signal.Signals) -> None:
            await dedup.drain()
            # Faust would now wait for every batch taken to be acked, and an abandoned one never is:
            # commit what was acked instead. (A rebalance still waits for the batches in flight.)
            app.conf.stream_wait_empty = False
            await super()._stop_on_signal(signal)

    return Worker


def create_app(settings: Settings, datadir: str | None = None) -> tuple[faust.App, agents.DedupWorker]:
    """The app with its topics, agent, timers, metrics and web pages.

    ``datadir`` is Faust's data folder (nothing of ours is kept there: the store is in memory); by
    default Faust's own, ``<app id>-data`` in the working directory.
    """
    extra: dict[str, Any] = {} if datadir is None else {"datadir": datadir}
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=broker_credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        autodiscover=False,
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # The broker holds a JoinGroup for about half the session timeout (tansu does, measured), and a
        # dead worker's partitions move only after it: shorter means faster starts and failovers.
        broker_session_timeout=settings.broker_session_timeout_seconds,
        broker_heartbeat_interval=max(0.5, settings.broker_session_timeout_seconds / 6),
        broker_commit_interval=settings.commit_interval_seconds,
        # aiokafka's default, 16 KB, holds about four unique decisions (each carries the cleaned text): a
        # batch of 64 then took several produce requests per partition.
        producer_max_batch_size=settings.producer_batch_bytes,
        logging_config=None,
        **extra,
    )
    limit_fetch_wait(settings.broker_fetch_max_wait_ms)
    metrics = Metrics(REGISTRY)
    setup_prometheus_sensors(app, pattern="/metrics", registry=REGISTRY, name_prefix="faust")
    topics = Topics.declare(app, settings)
    worker, telemetry = agents.register(app, settings, topics, metrics)
    from streams import web  # the status page; imported here so the web module can use the app

    web.register(app, telemetry)
    app.conf.Worker = worker_class(app, worker)  # type: ignore[assignment]  # a class, as Faust expects
    return app, worker


_built: dict[str, Any] = {}


def build(datadir: str | None = None) -> faust.App:
    """The app of this process (built once, from :func:`streams.settings.get_settings`)."""
    if not _built:
        settings = get_settings()
        configure_logging(settings)
        _built["settings"] = settings
        _built["app"], _built["worker"] = create_app(settings, datadir)
    app: faust.App = _built["app"]
    return app


def __getattr__(name: str) -> Any:
    """``streams.app.app``, ``.worker`` and ``.settings``: the app of this process, built on first use."""
    if name not in ("app", "worker", "settings"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    build()
    return _built[name]
