"""CPU cost of the encoding repair: ``ftfy.fix_text(text, normalization="NFKC")`` and ``streams.mojibake``.

Measures CPU microseconds per text (``time.process_time``, best of a few rounds, the implementations'
rounds alternated) on the texts of a JSONL file of articles (read in place; default
``../shared/data/dev.jsonl``), as they are and garbled the usual way (UTF-8 read as Windows-1252, for the
texts with a character outside ASCII), and counts the texts on which the outputs differ (it should be 0)::

    .venv/bin/python benchmarks/encoding_repair.py
    .venv/bin/python benchmarks/encoding_repair.py --input FILE.jsonl --rounds 5

Not part of the test suite (it measures); the equivalence tests are tests/unit/test_mojibake.py.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ftfy

from streams import mojibake

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO.parent / "shared" / "data" / "dev.jsonl"


def ftfy_nfkc(text: str) -> str:
    return ftfy.fix_text(text, normalization="NFKC")


IMPLEMENTATIONS: dict[str, Callable[[str], str]] = {
    "ftfy.fix_text": ftfy_nfkc,
    "mojibake.fix_text": mojibake.fix_text,
}


def best_us(fns: Sequence[Callable[[str], str]], texts: Sequence[str], rounds: int) -> list[float]:
    """CPU microseconds per text of each function, best of ``rounds``, the functions' rounds alternated."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            started = time.process_time()
            for text in texts:
                fn(text)
            best[i] = min(best[i], (time.process_time() - started) / max(1, len(texts)) * 1e6)
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="a JSONL file of articles")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    lines = args.input.read_text(encoding="utf-8").splitlines()
    texts = [text for line in lines if line.strip() for text in [json.loads(line).get("text")] if text]
    garbled = [text.encode("utf-8").decode("cp1252", "replace") for text in texts if not text.isascii()]
    common = [text for text in texts if mojibake.fix_common_text(text) is not None]
    others = [text for text in texts if mojibake.fix_common_text(text) is None]
    sets = {
        f"texts as they are ({len(texts):,})": texts,
        f"  of which common: quotes, line breaks only ({len(common):,})": common,
        f"  of which the others (£, é, ...) ({len(others):,})": others,
        f"garbled: UTF-8 read as cp1252 ({len(garbled):,})": garbled,
    }
    names = list(IMPLEMENTATIONS)
    print(f"{args.input}: CPU us per text, best of {args.rounds}")
    print(f"  {'texts':<50}" + "".join(f"{name:>20}" for name in names) + f"{'ratio':>8}")
    for label, chosen in sets.items():
        values = best_us(list(IMPLEMENTATIONS.values()), chosen, args.rounds)
        row = "".join(f"{value:>20.1f}" for value in values)
        print(f"  {label:<50}{row}{values[0] / values[1]:>7.1f}x")
    differing = sum(ftfy_nfkc(text) != mojibake.fix_text(text) for text in [*texts, *garbled])
    print(f"  texts whose outputs differ: {differing}")


if __name__ == "__main__":
    main()
