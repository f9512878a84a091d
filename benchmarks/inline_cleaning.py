"""How long the dearest inputs that ``streams.dedup.cleans_inline`` lets through take to clean inline,
and what the extraction process's round trip costs a small page: the reasons for its limits.

Each hostile shape (HTML pages up to ``INLINE_HTML_CHARS``; long texts up to ``INLINE_LONG_TEXT_CHARS``
with at most ``INLINE_NON_ASCII_BYTES`` beyond ASCII) is prepared three times in this process (best time
kept), and the dearest are printed. Then ``--pages FILE`` (JSONL with ``html``) prepares the file's pages
under the limit inline and through the extraction process, one at a time as the engine did before::

    .venv/bin/python benchmarks/inline_cleaning.py --pages ../shared/data/dev.jsonl
    .venv/bin/python benchmarks/inline_cleaning.py --chars 16384    # HTML pages of another size

Not part of the test suite (it measures; tests/reliability/test_hostile_input.py checks the outcomes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

from streams.dedup import (
    INLINE_HTML_CHARS,
    INLINE_LONG_TEXT_CHARS,
    INLINE_NON_ASCII_BYTES,
    Deduplicator,
    PrepareConfig,
    cleans_inline,
    prepare,
    prepare_parsed,
)
from streams.models import RawArticle, Rejection, parse_article
from streams.settings import Settings

STORY = (
    "The harbour authority said on Monday that the new container terminal would open in the spring, "
    "two years later than planned, after a dispute over dredging permits delayed the work. "
)


def text_shapes(chars: int, spare: int) -> Iterator[tuple[str, str]]:
    """Long texts of about ``chars`` characters, ``spare`` UTF-8 bytes beyond ASCII at most."""
    line = "The harbour authority said on Monday that the new container terminal would open in spring "
    yield "prose", STORY * (chars // len(STORY))
    yield "one-character lines", "a\n" * (chars // 2)
    yield "one-word promo lines", "Share\n" * (chars // 6)
    yield "bullets", "* item one two\n" * (chars // 15)
    yield "tabs and spaces", "a\t b  c " * (chars // 8)
    yield "ampersands", "a & b &c; " * (chars // 10)
    for mark in ("Ã©", "â€œ", "\ufdfa", "Â£", "£", "ﬁ", "Ǆ"):
        count = spare // (len(mark.encode()) - len(mark))
        marked = "".join(line + mark + "\n" for _ in range(count))
        yield f"{count} lines each with {mark!r}", marked + "a " * ((chars - len(marked)) // 2)


def html_shapes(chars: int) -> Iterator[tuple[str, str]]:
    """Pages of about ``chars`` characters that are dear to parse, extract or repair."""
    yield "unclosed nested <div>s", "<div>" * (chars // 5 - 60) + STORY
    yield "tag flood", "<b>x</b>" * (chars // 8)
    yield "short inline tags", "<p>" + "<i>a</i> " * (chars // 9)
    yield "entities", "<p>" + "&amp;" * (chars // 5)
    yield "U+FDFA and mojibake", "<p>" + "\ufdfaÃ©\n" * (chars // 4)
    yield "U+FDFA and mojibake, <br>", "\ufdfaÃ©<br>" * (chars // 7)
    yield "mojibake paragraphs", "<p>â€œyearâ€™s Ã© test</p>" * (chars // 26)
    yield "nested tables", "<table><tr><td>" * (chars // 15)
    yield "attributes", "<p " + " ".join(f'a{i}="x"' for i in range(chars // 8)) + ">" + STORY
    yield "comments", "<!--x-->" * (chars // 8) + STORY
    yield "navigation list", "<ul>" + "<li><a href='/x'>Home</a></li>" * (chars // 30) + "</ul><p>" + STORY
    yield "script", "<script>" + "var a=1;" * (chars // 8) + "</script>" + STORY
    yield "one-word paragraphs", "<p>word" * (chars // 7)
    yield "story paragraphs", ("<p>" + STORY + "</p>") * (chars // 200)
    yield "one long word", "<p>" + "ñ" * chars


def best_seconds(payload: bytes, config: PrepareConfig, rounds: int = 3) -> tuple[float, str]:
    best, outcome = float("inf"), ""
    for _ in range(rounds):
        start = time.perf_counter()
        result = prepare(payload, config)
        best = min(best, time.perf_counter() - start)
        outcome = result.error if isinstance(result, Rejection) else "prepared"
    return best, outcome


def hostile(field: str, shapes: Iterator[tuple[str, str]], config: PrepareConfig) -> None:
    rows = []
    for name, value in shapes:
        text, html = (value, None) if field == "text" else (None, value)
        assert cleans_inline(text, html), name  # a shape the limits send to the extraction process
        payload = json.dumps({"url": "https://hostile.example/p", "id": "p", field: value}).encode()
        seconds, outcome = best_seconds(payload, config)
        rows.append((seconds, name, len(value), outcome))
    print(f"dearest {field} inputs cleaned inline (best of 3):")
    for seconds, name, size, outcome in sorted(rows, reverse=True)[:8]:
        print(f"  {seconds * 1000:7.1f} ms  {name:<34} {size:>7,} chars  {outcome}")


def pages(path: Path, limit: int, settings: Settings) -> None:
    config = PrepareConfig.from_settings(settings)
    parsed: list[tuple[bytes, RawArticle]] = []
    for line in path.read_bytes().splitlines():
        raw = parse_article(line, max_bytes=settings.max_message_bytes)
        if isinstance(raw, RawArticle) and not (raw.text or "").strip() and 0 < len(raw.html or "") <= limit:
            parsed.append((line, raw))
    if not parsed:
        print(f"{path}: no HTML page of at most {limit:,} characters")
        return
    start = time.perf_counter()
    for line, raw in parsed:
        prepare_parsed(raw, line, config)
    inline = time.perf_counter() - start

    async def through_the_process() -> float:
        engine = Deduplicator(settings, index=None)  # type: ignore[arg-type]  # preparation only
        await engine.warm_up()
        loop = asyncio.get_running_loop()
        try:
            start = time.perf_counter()
            for line, raw in parsed:
                await loop.run_in_executor(engine._html_pool(), prepare_parsed, raw, line, config)
            return time.perf_counter() - start
        finally:
            engine.close()

    pooled = asyncio.run(through_the_process())
    n = len(parsed)
    print(f"{n} pages of {path.name} of at most {limit:,} characters, one at a time:")
    print(f"  inline                    {inline / n * 1000:6.2f} ms a page")
    print(f"  in the extraction process {pooled / n * 1000:6.2f} ms a page (with its round trip)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chars", type=int, default=INLINE_HTML_CHARS, help="HTML page size to fill up to")
    parser.add_argument("--pages", type=Path, help="a JSONL file whose small HTML pages to time")
    args = parser.parse_args()
    settings = Settings()
    config = PrepareConfig.from_settings(settings)
    hostile("html", ((name, html[: args.chars]) for name, html in html_shapes(args.chars)), config)
    hostile("text", text_shapes(INLINE_LONG_TEXT_CHARS, INLINE_NON_ASCII_BYTES), config)
    if args.pages:
        pages(args.pages, args.chars, settings)


if __name__ == "__main__":
    main()
