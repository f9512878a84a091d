"""What each hostile input costs the worker: time, peak memory and outcome, one fresh process per case.

Each case goes through the worker's preparation path (``Deduplicator.prepare_many`` with its real
extraction process, default settings: a 2 s time box), after the extraction process has started. Reported
per case: the outcome (``prepared`` or the rejection code), the id on it, the wall time, and the peak RSS
of the worker process and of the extraction process. ``--redis`` also measures the Redis memory per
unique article with short and with the longest accepted URL and id::

    .venv/bin/python benchmarks/hostile_inputs.py            # the cases (docs/guarantees.md)
    .venv/bin/python benchmarks/hostile_inputs.py --redis    # and the index record size

Not part of the test suite (it measures; tests/reliability/test_hostile_input.py checks the outcomes).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORY = (
    "The harbour authority said on Monday that the new container terminal would open in the spring, "
    "two years later than planned, after a dispute over dredging permits delayed the work. "
)


_BIG = b"1" + b"0" * 39  # an integer beyond 64 bits


def _msg(path: str, **fields: object) -> bytes:
    return json.dumps({"url": "https://hostile.example/" + path, **fields}, ensure_ascii=False).encode()


CASES: list[tuple[str, bytes]] = [
    ("U+FDFA + mojibake text, 1.8 MB", _msg("f", id="f", text="\ufdfaÃ©\n" * 200_000)),
    ("U+FDFA + mojibake text, 8k chars (inline)", _msg("fs", id="fs", text="\ufdfaÃ©\n" * 2048)),
    ("100k nested divs (500 KB)", _msg("d", id="d", html="<div>" * 100_000)),
    ("10k nested divs", _msg("d1", id="d1", html="<div>" * 10_000 + STORY)),
    ("1,900 nested divs", _msg("d2", id="d2", html="<div>" * 1_900 + STORY)),
    ("250k tags (2 MB)", _msg("t", id="t", html="<b>x</b>" * 125_001)),
    ("entity flood (1.5 MB)", _msg("e", id="e", html="<p>" + "&amp;" * 300_000)),
    ("JSON nested 500k deep (1 MB)", b"[" * 500_000 + b"]" * 500_000),
    ("1e400 beside a 40-digit integer", _msg("i", id="inf", text=STORY)[:-1] + b',"x":1e400,"y":' + _BIG + b"}"),  # noqa: E501
    ("id true", _msg("b", id=True, text=STORY)),
    ("numbers only", _msg("n", id="n", text="1 - 0, 2:3; 45.6%\n" * 40)),
]  # fmt: skip


def run_case(index: int) -> dict[str, object]:
    """One case in this process (started fresh for it)."""
    from streams.dedup import Deduplicator
    from streams.models import Rejection, SourcePosition
    from streams.settings import Settings

    name, payload = CASES[index]
    engine = Deduplicator(Settings(), index=None)  # type: ignore[arg-type]  # preparation only
    asyncio.run(engine.warm_up())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    (prepared,) = asyncio.run(engine.prepare_many([(payload, SourcePosition())]))
    seconds = time.perf_counter() - start
    engine.close()
    time.sleep(0.5)  # the extraction process has exited: its peak is in RUSAGE_CHILDREN
    rejected = isinstance(prepared, Rejection)
    return {
        "case": name,
        "outcome": prepared.error if isinstance(prepared, Rejection) else "prepared",
        "id": prepared.id if isinstance(prepared, Rejection) else prepared.article_id,
        "seconds": round(seconds, 2),
        "worker_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "worker_rss_before_mb": round(before / 1024),
        "extraction_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "rejected": rejected,
    }


def redis_bytes_per_article(url_bytes: int, id_bytes: int, articles: int = 5000) -> float:
    """Redis ``used_memory`` grown per unique article, with URLs and ids of the given lengths."""
    import redis

    from streams.dedup import index_config
    from streams.fingerprint import fingerprint
    from streams.index import RedisIndex
    from streams.settings import Settings
    from streams.tools.localstack import start_redis

    words = [f"w{i}x" for i in range(5000)]
    rng = random.Random(1)

    async def fill(url: str) -> float:
        settings = Settings(redis_url=url, namespace="record-size", index_capacity=articles)
        index = RedisIndex.from_url(url, index_config(settings))
        await index.open()
        client = redis.Redis.from_url(url)
        used_before = client.info("memory")["used_memory"]
        items = []
        for i in range(articles):
            page = f"https://hostile.example/{i}/"
            name = f"{i}-"
            text = " ".join(rng.choice(words) for _ in range(300))
            page += "p" * (url_bytes - len(page))
            items.append(
                (
                    fingerprint(text, page, settings.fingerprint_params()),
                    name + "i" * (id_bytes - len(name)),
                    page,
                )
            )
        for start in range(0, articles, 64):
            await index.decide_many(items[start : start + 64])
        grown = float(client.info("memory")["used_memory"] - used_before) / articles
        await index.close()
        client.close()
        return grown

    with tempfile.TemporaryDirectory() as workdir:
        server = start_redis(Path(workdir))
        try:
            return asyncio.run(fill(f"redis://127.0.0.1:{server.port}/0"))
        finally:
            server.stop()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--case":
        print(json.dumps(run_case(int(sys.argv[2]))))
        return
    for index in range(len(CASES)):
        command = [sys.executable, __file__, "--case", str(index)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)  # noqa: S603 - this file
        print(done.stdout.strip() or done.stderr.strip()[-500:], flush=True)
    if "--redis" in sys.argv:
        for url_bytes, id_bytes in ((40, 8), (2048, 512)):
            grown = redis_bytes_per_article(url_bytes, id_bytes)
            print(f"Redis per unique article, URL {url_bytes} B and id {id_bytes} B: {grown:.0f} bytes")


if __name__ == "__main__":
    main()
