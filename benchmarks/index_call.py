"""The index call side by side with an earlier revision: client CPU, Redis CPU, commands, wall time.

Prepares N synthetic articles once (``generate_stream(n, duplicate_share=0.3)``, text articles only),
then decides them against an empty index in batches of 64 (as a worker sends them) with
``RedisIndex.decide_many`` of the working tree and, with ``--baseline REV`` (repeatable), of
``streams/`` as it is at that git revision (exported to a temporary folder and run in a process of
its own), rounds alternated, each on a fresh ``redis-server`` started on a free port. Reported per
article: wall time, the client's CPU (``time.process_time``), the Redis process's CPU (user +
system, from ``/proc``), Redis's own time in the script (``INFO commandstats``), the commands it ran
and the bytes of Redis memory the index took (``used_memory`` after minus before, per article
decided; ``index_capacity`` is N), plus how many decisions were duplicates::

    .venv/bin/python benchmarks/index_call.py                       # the working tree alone
    .venv/bin/python benchmarks/index_call.py --baseline d4f7d11    # against the index before layout v2
    .venv/bin/python benchmarks/index_call.py --baseline 6dfd5e3 --baseline cebce7f  # v4 and v5 side by side

Not part of the test suite (it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure_tree(articles: int, redis_url: str, redis_pid: int) -> dict[str, Any]:
    """Decide the articles with the ``streams`` package importable now; per-article figures."""
    import redis

    from streams.dedup import PrepareConfig, PreparedArticle, index_config, prepare
    from streams.index import RedisIndex
    from streams.settings import Settings
    from streams.tools import bench

    settings = Settings(redis_url=redis_url)
    config = PrepareConfig.from_settings(settings)
    items = [item for item in bench.synthetic_items(articles, seed=1) if not item.is_html]
    prepared = [
        p for p in (prepare(item.payload, config) for item in items) if isinstance(p, PreparedArticle)
    ]
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    index = RedisIndex.from_url(
        redis_url, index_config(settings.model_copy(update={"index_capacity": articles}))
    )
    await index.open()
    await index.client.script_load(index._script.script)
    client.config_resetstat()
    memory = int(client.info("memory")["used_memory"])
    verdicts = []
    wall, cpu, redis_cpu = time.perf_counter(), time.process_time(), process_cpu_seconds(redis_pid)
    for start in range(0, len(prepared), 64):
        chunk = prepared[start : start + 64]
        verdicts += await index.decide_many([(a.fingerprint, a.article_id, a.raw.url) for a in chunk])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    redis_cpu = process_cpu_seconds(redis_pid) - redis_cpu
    stats = client.info("commandstats")
    memory = int(client.info("memory")["used_memory"]) - memory
    await index.close()
    n = len(prepared)
    script = stats.get("cmdstat_evalsha", {})
    commands = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_evalsha" and "resetstat" not in k)
    return {
        "articles": n,
        "duplicates": sum(v.status == "duplicate" for v in verdicts),
        "wall_us": round(wall / n * 1e6, 1),
        "client_cpu_us": round(cpu / n * 1e6, 1),
        "redis_cpu_us": round(redis_cpu / n * 1e6, 1),
        "redis_script_us": round(script.get("usec", 0) / n, 1),
        "redis_commands": round(commands / n, 1),
        "redis_bytes": round(memory / n),
    }


def export_revision(revision: str, directory: Path) -> Path:
    """The repository's ``streams/`` package as it is at ``revision``, in ``directory``."""
    archive = subprocess.run(  # noqa: S603  (git, with a revision given on our own command line)
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "streams"],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "archive.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(directory, filter="data")
    return directory


def run_in(tree: Path, articles: int, redis_url: str, redis_pid: int) -> dict[str, Any]:
    """One measurement in a fresh process that imports ``streams`` from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, __file__, "--measure", str(articles), redis_url, str(redis_pid)]
    run = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=tree)  # noqa: S603
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        articles, url, pid = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
        print(json.dumps(asyncio.run(measure_tree(articles, url, pid))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--articles", type=int, default=6000, help="synthetic articles (default 6000)")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each tree (default 2)")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        action="append",
        default=[],
        help="also measure streams/ at this git revision (repeatable)",
    )
    options = parser.parse_args()
    from streams.tools.localstack import start_redis

    with tempfile.TemporaryDirectory(prefix="streams-index-call-") as tmp:
        trees = {"working tree": REPO}
        for revision in options.baseline:
            trees[revision] = export_revision(revision, Path(tmp) / f"baseline-{revision}")
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for round_no in range(options.rounds):
            for name, tree in trees.items():
                with start_redis(Path(tmp) / f"redis-{round_no}-{len(results[name])}-{name[:8]}") as server:
                    results[name].append(run_in(tree, options.articles, server.url, server.pid or 0))
    keys = ("wall_us", "client_cpu_us", "redis_cpu_us", "redis_script_us", "redis_commands", "redis_bytes")
    print("| tree | articles | duplicates | " + " | ".join(k.replace("_", " ") for k in keys) + " |")
    print("|---|---:|---:|" + "---:|" * len(keys))
    for name, runs in results.items():
        for run in runs:
            cells = " | ".join(f"{run[k]:,}" for k in keys)
            print(f"| {name} | {run['articles']:,} | {run['duplicates']:,} | {cells} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
