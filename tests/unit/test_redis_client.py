"""The index's Redis client: redis-py's asyncio Retry (no warning on redis-py 8.2), and a refused
password is not retried (redis-py counts it as a connection error)."""

from __future__ import annotations

import asyncio
import warnings

import pytest
import redis.asyncio.retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ConnectionError

from streams.dedup import index_config
from streams.index import RedisIndex, Retry
from streams.settings import Settings


def test_the_client_gets_the_asyncio_retry_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        index = RedisIndex.from_url("redis://127.0.0.1:1/0", index_config(Settings()), retries=3)
    retry = index.client.connection_pool.connection_kwargs["retry"]
    assert isinstance(retry, redis.asyncio.retry.Retry)


def calls_until_raised(error: Exception, retries: int = 4) -> int:
    calls = 0

    async def do() -> None:
        nonlocal calls
        calls += 1
        raise error

    async def fail(_: Exception) -> None:
        return None

    with pytest.raises(type(error)):
        asyncio.run(Retry(NoBackoff(), retries, (ConnectionError,)).call_with_retry(do, fail))
    return calls


def test_a_refused_password_is_not_retried():
    assert calls_until_raised(AuthenticationError("WRONGPASS invalid username-password pair")) == 1


def test_a_connection_error_is_retried():
    assert calls_until_raised(ConnectionError("refused"), retries=4) == 5
