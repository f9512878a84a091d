"""Instructions per article of the worker's CPU half (parse, clean, fingerprint), counted by callgrind.

On a shared machine a change of a few percent drowns in the noise of timings; valgrind's callgrind
counts the instructions a process runs, whatever else the machine is doing. For the same code, inputs
and hash seed (``PYTHONHASHSEED=0``) the count per article moved by 0.1-1.2% between runs (addresses
still differ from run to run), against 5-10% for timings here: run it twice.

Each implementation runs ``Deduplicator.prepare_many`` in batches of 64 over the first N and the first
3N synthetic text articles (written to a file first, outside callgrind; HTML pages would go to a process
of their own, which callgrind would not follow); the difference of the two counts is the cost of 2N
articles without the start-up. ``--baseline REV``
also counts REV's code, checked out beside the working tree (it must have the same compiled core: the
built extension is copied in), so the two are compared side by side in one run.

    .venv/bin/python benchmarks/prepare_instructions.py --baseline HEAD~1    # about 8 minutes
    .venv/bin/python benchmarks/prepare_instructions.py -n 150

Not part of the test suite (it measures); needs valgrind (Debian's package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import asyncio, sys
from streams.dedup import Deduplicator
from streams.models import SourcePosition
from streams.settings import Settings

async def main(path, n):
    payloads = open(path, "rb").read().split(b"\\n")[:n]
    engine = Deduplicator(Settings(), None)
    messages = [(payload, SourcePosition("articles.raw", 0, k)) for k, payload in enumerate(payloads)]
    for start in range(0, len(messages), 64):
        await engine.prepare_many(messages[start : start + 64])
    print(len(messages), __import__("streams").__file__)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def write_articles(path: Path, n: int) -> None:
    """The first ``n`` synthetic text articles, one JSON payload a line (made outside callgrind)."""
    from streams.tools import bench

    items = [item for item in bench.synthetic_items(n + n // 10 + 20, seed=1) if not item.is_html][:n]
    path.write_bytes(b"\n".join(item.payload for item in items))


def count_instructions(source_root: Path, articles_file: Path, articles: int) -> tuple[int, str]:
    """Instructions callgrind counted for preparing ``articles`` articles (start-up included)."""
    # From the source root: python -c puts the working directory first on sys.path.
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(source_root)}
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, "-c", CHILD, str(articles_file), str(articles)]
    run = subprocess.run(command, env=env, cwd=source_root, capture_output=True, text=True, check=True)  # noqa: S603
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{run.stderr[-2000:]}")
    prepared, module = run.stdout.split()
    if int(prepared) != articles:
        raise SystemExit(f"prepared {prepared} articles instead of {articles}")
    return int(found.group(1)), module


def per_article(source_root: Path, articles_file: Path, n: int) -> float:
    """Instructions per article: the count for 3N articles minus the count for N, over 2N."""
    small, module = count_instructions(source_root, articles_file, n)
    if not module.startswith(str(source_root)):  # before the longer run, not after it
        raise SystemExit(f"the child imported {module}, not the code under {source_root}")
    large, _ = count_instructions(source_root, articles_file, 3 * n)
    return (large - small) / (2 * n)


def git(*args: str, check: bool = True) -> int:
    """Run git on this repository; its exit status."""
    return subprocess.run(["git", "-C", str(ROOT), *args], check=check).returncode  # noqa: S603, S607


def checkout(revision: str, directory: Path) -> Path:
    """REV's tree in ``directory``, with the working tree's compiled core (REV's C source must match)."""
    target = directory / "baseline"
    git("worktree", "add", "--detach", str(target), revision)
    if git("diff", "--quiet", revision, "--", "streams/_native", check=False) != 0:
        raise SystemExit(f"{revision} has another compiled core: build it in a checkout of its own")
    for built in (ROOT / "streams").glob("_textcore*.so"):
        shutil.copy2(built, target / "streams" / built.name)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", "--articles", type=int, default=300, help="N: articles of the smaller run (300)"
    )
    parser.add_argument("--baseline", metavar="REV", help="also count this git revision's code")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    if options.articles < 10:
        parser.error("--articles must be at least 10")
    with tempfile.TemporaryDirectory(prefix="streams-instructions-") as directory:
        articles_file = Path(directory) / "articles.jsonl"
        write_articles(articles_file, 3 * options.articles)
        rows = [("working tree", per_article(ROOT, articles_file, options.articles))]
        if options.baseline:
            try:
                baseline = checkout(options.baseline, Path(directory))
                rows.append(
                    (f"baseline {options.baseline}", per_article(baseline, articles_file, options.articles))
                )
            finally:
                git("worktree", "remove", "--force", str(Path(directory) / "baseline"), check=False)
    print("| code | instructions per article |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value:,.0f} |")
    if len(rows) == 2:
        print(f"working tree / baseline: {rows[0][1] / rows[1][1]:.4f}")


if __name__ == "__main__":
    main()
