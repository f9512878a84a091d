"""CPU cost per article of the pure text path: ``clean_article`` (text and HTML) and ``fingerprint``.

Measures CPU microseconds per article (``time.process_time``, best of a few rounds, as ``streams bench``
part 2 does) on synthetic articles (``generate_stream(n, duplicate_share=0.3)``, HTML pages made from
fresh originals, as the bench makes them) and on a JSONL file of real articles (read in place). With
``--baseline REV`` it also loads ``streams/cleaning.py``, ``streams/mojibake.py`` (where it exists) and
``streams/fingerprint.py`` as they are at that git revision and measures them on the same inputs in the
same run, rounds alternated, and counts the articles whose outputs differ (every field of ``CleanText``
and ``Fingerprint``, of both the compiled and the pure-Python fingerprint; it should be 0)::

    .venv/bin/python benchmarks/text_path.py                      # 2,000 synthetic + dev.jsonl
    .venv/bin/python benchmarks/text_path.py --baseline HEAD      # the working tree against HEAD
    .venv/bin/python benchmarks/text_path.py -n 5000 --rounds 5 --input FILE.jsonl --baseline HEAD~2

Not part of the test suite (it measures); the equivalence tests are in tests/unit.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from streams import cleaning, fingerprint
from streams.models import RawArticle, parse_article

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO.parent / "shared" / "data" / "dev.jsonl"
MAX_CHARS = 200_000  # Settings.max_text_chars, the default
MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class Implementation:
    """A pair of cleaning and fingerprint modules to measure."""

    name: str
    cleaning: ModuleType
    fingerprint: ModuleType


def load_baseline(revision: str, directory: Path) -> Implementation:
    """``streams/cleaning.py`` and ``streams/fingerprint.py`` at ``revision``, as modules of their own.

    The baseline fingerprint module takes ``canonical_url`` from the baseline cleaning module, and the
    baseline cleaning module its encoding repair from ``streams/mojibake.py`` at ``revision`` where that
    exists.
    """
    modules = {}
    for name in ("mojibake", "cleaning", "fingerprint"):
        shown = subprocess.run(  # noqa: S603  (git, with a revision given on our own command line)
            ["git", "show", f"{revision}:streams/{name}.py"],  # noqa: S607
            cwd=REPO,
            check=name != "mojibake",  # (revisions before it had the encoding repair in cleaning)
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0:
            continue
        source = shown.stdout
        module_name = f"baseline_{name}"
        source = source.replace("from streams.cleaning import", "from baseline_cleaning import")
        source = source.replace("from streams import mojibake", "import baseline_mojibake as mojibake")
        path = directory / f"{module_name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
        modules[name] = module
    return Implementation(f"baseline {revision}", modules["cleaning"], modules["fingerprint"])


def synthetic_articles(n: int, seed: int) -> tuple[list[RawArticle], list[RawArticle]]:
    """Text articles of ``n`` synthetic ones, and HTML pages of ``n`` fresh originals (as streams bench)."""
    import random

    from streams.tools.synthetic import generate_stream, make_copy

    stream = list(generate_stream(n, duplicate_share=0.3, seed=seed))
    rng = random.Random(seed)
    originals = generate_stream(n, duplicate_share=0.0, seed=seed, same_event_share=0.0)
    pages = [make_copy("html", original, rng) for original in originals]
    return [a for a in parsed(stream) if a.text], [a for a in parsed(pages) if not a.text]


def file_articles(path: Path) -> tuple[list[RawArticle], list[RawArticle]]:
    """The text articles and the HTML pages of a JSONL file."""
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    articles = parsed(json.loads(line) for line in lines)
    return [a for a in articles if a.text], [a for a in articles if not a.text]


def parsed(articles: Any) -> list[RawArticle]:
    """Articles (dicts, labels removed) through parse_article, as a worker receives them."""
    out = []
    for article in articles:
        body = {k: v for k, v in article.items() if not k.startswith("label_")}
        body["id"] = str(body.get("id") or body.get("url"))
        result = parse_article(json.dumps(body, ensure_ascii=False).encode(), max_bytes=MAX_BYTES)
        if isinstance(result, RawArticle):
            out.append(result)
    return out


def clean_with(impl: Implementation) -> Callable[[RawArticle], Any]:
    def clean(article: RawArticle) -> Any:
        return impl.cleaning.clean_article(
            title=article.title, text=article.text, html=article.html, max_chars=MAX_CHARS
        )

    return clean


def fingerprint_with(impl: Implementation, python_path: bool = False) -> Callable[[tuple[str, str]], Any]:
    """``fingerprint`` of the implementation; with ``python_path``, its pure-Python path where it has one
    (revisions before the compiled core have only that)."""
    params = impl.fingerprint.FingerprintParams()
    function = impl.fingerprint.fingerprint
    if python_path:
        function = getattr(impl.fingerprint, "fingerprint_python", function)

    def run(item: tuple[str, str]) -> Any:
        return function(item[0], item[1], params)

    return run


def best_us(fns: Sequence[Callable[[Any], Any]], inputs: Sequence[Any], rounds: int) -> list[float]:
    """CPU microseconds per input of each function, best of ``rounds``, the functions' rounds alternated."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            started = time.process_time()
            for value in inputs:
                fn(value)
            best[i] = min(best[i], (time.process_time() - started) / max(1, len(inputs)) * 1e6)
    return best


def same_fingerprint(a: Any, b: Any) -> bool:
    return bool(
        a.url_key == b.url_key
        and a.exact_key == b.exact_key
        and a.signature.dtype == b.signature.dtype
        and np.array_equal(a.signature, b.signature)
        and a.shingle_count == b.shingle_count
        and a.band_hashes == b.band_hashes
        and a.lead_signature.dtype == b.lead_signature.dtype
        and np.array_equal(a.lead_signature, b.lead_signature)
    )


def differences(
    impls: Sequence[Implementation], texts: Sequence[RawArticle], pages: Sequence[RawArticle]
) -> int:
    """How many articles some implementation cleans or fingerprints otherwise than the first."""
    reference, *others = impls
    count = 0
    for article in [*texts, *pages]:
        expected = clean_with(reference)(article)
        fp = fingerprint_with(reference)((expected.text, article.url))
        for impl in others:
            got = clean_with(impl)(article)
            got_fp = fingerprint_with(impl)((expected.text, article.url))
            python_fp = fingerprint_with(impl, python_path=True)((expected.text, article.url))
            count += (got.title, got.text, got.word_count) != (
                expected.title,
                expected.text,
                expected.word_count,
            ) or not (same_fingerprint(got_fp, fp) and same_fingerprint(python_fp, fp))
    return count


def measure(
    label: str,
    impls: Sequence[Implementation],
    texts: Sequence[RawArticle],
    pages: Sequence[RawArticle],
    rounds: int,
) -> None:
    # Every implementation fingerprints the same texts: the first implementation's cleaned ones.
    cleaned = [(clean_with(impls[0])(a).text, a.url) for a in texts]
    rows = {
        f"clean_article, text ({len(texts):,})": best_us([clean_with(i) for i in impls], texts, rounds),
        f"clean_article, HTML ({len(pages):,})": best_us([clean_with(i) for i in impls], pages, rounds),
        f"fingerprint ({len(cleaned):,})": best_us([fingerprint_with(i) for i in impls], cleaned, rounds),
        "fingerprint, pure-Python path": best_us(
            [fingerprint_with(i, python_path=True) for i in impls], cleaned, rounds
        ),
    }
    print(f"\n{label}: CPU us per article, best of {rounds}")
    print(f"  {'stage':<34}" + "".join(f"{i.name:>22}" for i in impls))
    for stage, values in rows.items():
        print(f"  {stage:<34}" + "".join(f"{v:>22.1f}" for v in values))
    if len(impls) > 1:
        print(f"  articles with any output differing: {differences(impls, texts, pages)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="synthetic articles (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="a JSONL file of articles")
    parser.add_argument("--no-input", action="store_true", help="synthetic articles only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", help="also measure the text path at this git revision")
    args = parser.parse_args(argv)

    impls = [Implementation("working tree", cleaning, fingerprint)]
    with tempfile.TemporaryDirectory() as directory:
        if args.baseline:
            impls.append(load_baseline(args.baseline, Path(directory)))
        if args.n:
            texts, pages = synthetic_articles(args.n, args.seed)
            measure(f"synthetic (n={args.n}, seed={args.seed})", impls, texts, pages, args.rounds)
        if not args.no_input and args.input.exists():
            texts, pages = file_articles(args.input)
            measure(str(args.input), impls, texts, pages, args.rounds)


if __name__ == "__main__":
    main()
