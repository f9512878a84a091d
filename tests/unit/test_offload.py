"""The offload process (streams.offload) and the engine's batches shared with it: the same results as one by
one in the worker, whatever the process does. It is a real spawned process; no server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import operator
import os
import pickle
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from streams import dedup
from streams.chrome import block_hash
from streams.dedup import (
    Deduplicator,
    PrepareConfig,
    PreparedArticle,
    index_config,
    prepare_parsed,
    with_chrome,
)
from streams.memory_index import MemoryIndex
from streams.models import NO_POSITION, RawArticle, Rejection, SourcePosition, parse_article
from streams.offload import OffloadProcess, PrepareSplit, available_cpus, usable_max_share
from streams.settings import Settings
from streams.tools.synthetic import same_template_stream


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine offloads only with two CPUs or more: these tests run as on such a machine."""
    monkeypatch.setattr(dedup, "available_cpus", lambda: 2.0)


async def until_ready(process: OffloadProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not process.ready:
        assert not process.closed and time.monotonic() < deadline, "the offload process did not start"
        await asyncio.sleep(0.02)


def test_the_process_answers_each_request_in_turn() -> None:
    async def go() -> list[int]:
        process = OffloadProcess(operator.mul, 3)
        try:
            await until_ready(process)
            answers: list[int] = []
            for request in (2, 5, 7):
                assert process.idle
                future = process.submit(request)
                assert not process.idle  # one request at a time
                answers.append(await asyncio.wait_for(future, 30))
            return answers
        finally:
            process.close()

    assert asyncio.run(go()) == [6, 15, 21]


def test_a_process_that_dies_fails_its_request_and_is_closed() -> None:
    async def go() -> OffloadProcess:
        process = OffloadProcess(time.sleep)
        await until_ready(process)
        future = process.submit(30)
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(EOFError):
            await asyncio.wait_for(future, 30)
        return process

    process = asyncio.run(go())
    assert process.closed and not process._process.is_alive()


def test_close_stops_the_process_and_fails_the_request_in_flight() -> None:
    async def go() -> None:
        process = OffloadProcess(time.sleep)
        await until_ready(process)
        future = process.submit(30)
        process.close()
        with pytest.raises(EOFError):
            await future
        assert not process._process.is_alive()

    asyncio.run(go())


def test_the_share_grows_while_replies_come_in_time_and_falls_when_late() -> None:
    split = PrepareSplit(max_share=0.5)
    assert split.count(PrepareSplit.MIN_ARTICLES - 1) == 0  # small batches stay in the worker
    for _ in range(30):  # sent before the worker was done with its part
        split.answered(late=-0.003)
    assert split.share == pytest.approx(0.5)
    assert split.count(64) == 32
    split.answered(late=PrepareSplit.LATE_SECONDS / 2)  # a little late is in time
    assert split.share == pytest.approx(0.5)
    for _ in range(5):  # a busy machine: the process late
        split.answered(late=0.01)
    assert split.share == pytest.approx(0.5 - 5 * PrepareSplit.STEP)
    for _ in range(60):
        split.answered(late=0.05)
    assert split.share == PrepareSplit.MIN_SHARE
    assert split.count(64) >= 1  # it keeps a part, so its pace is measured again
    assert PrepareSplit(max_share=0).count(64) == 0


CONFIG = PrepareConfig.from_settings(Settings())


def comparable(result: object) -> object:
    """A prepared article as a value to compare: its signatures as bytes, without its timings (measured);
    a rejection without its time."""
    if isinstance(result, Rejection):
        return dataclasses.replace(result, processed_at="")
    if not isinstance(result, PreparedArticle):
        return result
    fp = result.fingerprint
    signatures = (fp.signature.tobytes(), fp.lead_signature.tobytes())
    fields = dataclasses.replace(fp, signature=None, lead_signature=None)  # type: ignore[arg-type]
    return dataclasses.replace(result, fingerprint=fields, timings={}), signatures


def test_chrome_applied_afterwards_is_chrome_applied_while_preparing() -> None:
    nav, footer = "Home World Business Sport Weather", "Copyright Example News all rights reserved"
    text = "\n".join(
        [nav, *(f"Paragraph {i} of the story about the harbour bridge." for i in range(6)), footer]
    )
    payload = json.dumps({"url": "https://news.example/a", "title": "Bridge", "text": text}).encode()
    parsed = parse_article(payload, max_bytes=CONFIG.max_message_bytes)
    assert isinstance(parsed, RawArticle)
    known = frozenset(h for h in (block_hash(nav), block_hash(footer)) if h is not None)
    for chrome in (known, frozenset[bytes](), frozenset(h for h in [block_hash("unrelated words")] if h)):
        direct = prepare_parsed(parsed, payload, CONFIG, chrome=chrome)
        unknown = prepare_parsed(parsed, payload, CONFIG, chrome=frozenset())
        assert isinstance(unknown, PreparedArticle)
        later = with_chrome(unknown, chrome, CONFIG)
        assert comparable(later) == comparable(direct)
    stripped = prepare_parsed(parsed, payload, CONFIG, chrome=frozenset())
    assert isinstance(stripped, PreparedArticle)
    assert with_chrome(stripped, known, CONFIG).chrome_dropped > 0  # the case above where chrome was left out


def prepared_batches(batches: Sequence[Sequence[bytes]], max_share: float) -> tuple[list[object], int]:
    """What the engine prepares, batch after batch, with the offload process up when it is on."""
    settings = Settings(offload_max_share=max_share)
    engine = Deduplicator(settings, MemoryIndex(index_config(settings)))

    async def go() -> list[object]:
        engine.start_offload_process()
        if engine._offload is not None:
            await until_ready(engine._offload)
        results: list[object] = []
        for batch in batches:
            results += await engine.prepare_many([(payload, NO_POSITION) for payload in batch])
        return results

    try:
        results = asyncio.run(go())
    finally:
        engine.close()
    return [comparable(r) for r in results], engine.shared


def test_a_shared_batch_is_prepared_as_one_by_one_in_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of two sites' templates, whose chrome is learned within the batches: each shared page gets the
    chrome known at its turn, so the results are those of the worker alone, chrome left out included."""
    records = same_template_stream(11, sites=2, stories_per_site=40)
    payloads = [json.dumps(r).encode() for r in records]
    # The last of the first batch, shared: rejections by the parser (kept here) and by cleaning (there).
    bad = [
        b"{not json",
        b'{"url": "https://x.example/1"}',
        b'{"url": "https://x.example/2", "text": "Too short."}',
    ]
    batches = [payloads[:37] + bad, payloads[37:77], payloads[77:]]
    alone, none_shared = prepared_batches(batches, max_share=0)
    stripped_later = []

    def spied(prepared: PreparedArticle, chrome: frozenset[bytes], config: PrepareConfig) -> PreparedArticle:
        result = with_chrome(prepared, chrome, config)
        stripped_later.append(result.chrome_dropped > 0)
        return result

    monkeypatch.setattr(dedup, "with_chrome", spied)
    shared, count = prepared_batches(batches, max_share=0.5)
    assert none_shared == 0 and count > 0
    assert shared == alone
    # (the cleaning rejection made there counts as shared, without chrome to apply)
    assert 0 < len(stripped_later) < count and any(stripped_later), (
        "with_chrome left nothing out: not covered"
    )


def short_articles(n: int, seed: int = 3) -> list[bytes]:
    records = same_template_stream(seed, sites=3, stories_per_site=n // 3 + 1)[:n]
    return [json.dumps(r).encode() for r in records]


def test_a_share_not_answered_in_time_is_prepared_in_the_worker() -> None:
    """A stopped offload process: the batch waits for its time box, then its share is prepared here, and
    the results are those of the worker alone; the process is stopped, to be started again later."""
    batch = short_articles(24)
    alone, _ = prepared_batches([batch], max_share=0)
    settings = Settings(offload_max_share=0.5, extraction_timeout_seconds=0.2)
    engine = Deduplicator(settings, MemoryIndex(index_config(settings)))

    async def go() -> list[object]:
        engine.start_offload_process()
        assert engine._offload is not None
        await until_ready(engine._offload)
        assert engine._offload.pid is not None
        os.kill(engine._offload.pid, signal.SIGSTOP)  # alive, reading nothing, answering nothing
        try:
            return [comparable(r) for r in await engine.prepare_many([(p, NO_POSITION) for p in batch])]
        finally:
            with contextlib.suppress(ProcessLookupError):  # (stopped for good by then, as it should be)
                os.kill(engine._offload.pid, signal.SIGCONT)

    try:
        assert asyncio.run(go()) == alone
        assert engine.shared == 0 and engine._offload is not None and engine._offload.closed
    finally:
        engine.close()


def test_each_event_loop_gets_its_own_offload_process() -> None:
    """Offline callers may run the engine under asyncio.run more than once: the process of a loop that
    ended is replaced, not used from another loop."""
    batches = [short_articles(32), short_articles(32, seed=4)]
    alone, _ = prepared_batches(batches, max_share=0)
    settings = Settings(offload_max_share=0.5)
    engine = Deduplicator(settings, MemoryIndex(index_config(settings)))

    async def go(batch: list[bytes]) -> list[object]:
        await engine.warm_up()
        return [comparable(r) for r in await engine.prepare_many([(p, NO_POSITION) for p in batch])]

    try:
        first = asyncio.run(go(batches[0]))
        process = engine._offload
        second = asyncio.run(go(batches[1]))
        assert first + second == alone
        assert process is not None and process.closed and engine._offload is not process
        assert engine.shared > 0
    finally:
        engine.close()


def test_a_worker_with_fewer_than_two_cpus_starts_no_offload_process(tmp_path: Path) -> None:
    """The CPUs are those the process may run on, capped by a container's quota (cgroup v2, then v1)."""
    cpus = available_cpus(tmp_path)  # no quota there: the CPUs it may run on
    assert cpus == len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # a limit of 1.5 CPUs
    assert available_cpus(tmp_path) == min(cpus, 1.5)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == cpus
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path) == min(cpus, 1.0)
    assert usable_max_share(0.5, 1.0) == usable_max_share(0.5, 1.5) == 0
    assert usable_max_share(0.5, 2.0) == 0.5


def test_the_engine_asks_for_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup, "available_cpus", lambda: 1.0)
    assert (
        Deduplicator(Settings(offload_max_share=0.5), MemoryIndex(index_config(Settings()))).split.max_share
        == 0
    )


def crossed(record: object) -> Any:
    """A record as the other process gets it: pickled, as multiprocessing does, and loaded."""
    return pickle.loads(pickle.dumps(record))  # noqa: S301 (bytes this test made)


def test_records_cross_to_another_process_and_back_unchanged() -> None:
    """streams.records: each record the offload process sends back is rebuilt by its constructor."""
    payload = json.dumps(
        {"url": "https://news.example/a", "title": "Bridge", "text": "A story. " * 20}
    ).encode()
    parsed = parse_article(payload, max_bytes=CONFIG.max_message_bytes)
    assert isinstance(parsed, RawArticle)
    article = prepare_parsed(parsed, payload, CONFIG, SourcePosition("t", 1, 2), 0.001, chrome=frozenset())
    assert isinstance(article, PreparedArticle) and article.blocks is not None
    rejection = Rejection(
        error="empty_text", message="m", raw=b"x", position=SourcePosition("t", 0, 1), id="a"
    )
    for record in (parsed, rejection, article.blocks, article.raw, SourcePosition("t", 0, 5)):
        assert crossed(record) == record
    again = crossed(article)
    assert comparable(again) == comparable(article) and again.timings == article.timings
