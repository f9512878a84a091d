"""The Faust app: ``streams worker -l info`` runs a dedup worker; ``streams --help`` lists the commands.

The app is built once from :class:`streams.settings.Settings` (environment variables ``STREAMS_*``).
"""

from __future__ import annotations

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


def create_app(settings: Settings) -> tuple[faust.App, agents.DedupWorker]:
    """The app with its topics, agent, timers, metrics and web pages."""
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
        logging_config=None,
    )
    metrics = Metrics(REGISTRY)
    setup_prometheus_sensors(app, pattern="/metrics", registry=REGISTRY, name_prefix="faust")
    topics = Topics.declare(app, settings)
    worker = agents.register(app, settings, topics, metrics)
    from streams import web  # the status page; imported here so the web module can use the app

    web.register(app, worker)
    return app, worker


settings = get_settings()
configure_logging(settings)
app, worker = create_app(settings)

from streams import cli  # noqa: E402  (registers the project's commands on the app)

cli.register(app, settings)


def main() -> None:
    """Console script entry point: the Faust app's CLI with the project's commands."""
    app.main()
