"""The monitored run of the real stack (see :mod:`tests.monitoring.support`), once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.tools.localstack import (
    BrokerProcess,
    RedisProcess,
    create_settings_topics,
    free_port,
    start_worker,
)
from tests.conftest import make_settings
from tests.monitoring.support import (
    PROMETHEUS,
    PROMTOOL,
    MonitoredStack,
    PrometheusServer,
    run_scenario,
    scrape_config_for,
)


@pytest.fixture(scope="session")
def monitored_stack(
    broker: BrokerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MonitoredStack]:
    """Run the scenario once per session (about 40 s) and hand its servers to the tests."""
    workdir = tmp_path_factory.mktemp("monitoring")
    redis = RedisProcess(workdir / "redis", port=free_port())
    settings = make_settings(
        broker,
        f"redis://127.0.0.1:{redis.port}/0",
        redis_backoff_cap_seconds=1.0,
        redis_retries=1,
    )
    create_settings_topics(broker, settings)
    web_port = free_port()
    prometheus = None
    if PROMETHEUS and PROMTOOL:
        prometheus = PrometheusServer(workdir / "prometheus", scrape_config_for(web_port))
        prometheus.workdir.mkdir()
        prometheus.start()

    worker = start_worker(settings, workdir / "worker.log", web_port=web_port)
    stack = MonitoredStack(f"http://127.0.0.1:{web_port}", worker.log_path, prometheus)
    try:
        run_scenario(stack, broker, settings.topic_raw, redis)
        yield stack
    finally:
        worker.stop(timeout=15)
        if prometheus is not None:
            prometheus.stop()
        redis.stop()
