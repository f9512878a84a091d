"""``streams clean``: one cleaned record or one rejection a line, without an index (run as a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PAGE = (
    "<html><head><title>Harbour barrier</title></head><body><nav><a href='/'>Home</a></nav><article>"
    "<h1>Harbour City approves its flood barrier</h1>"
    + "".join(
        f"<p>Paragraph {i}: the council voted on Tuesday to build the barrier along the old docks, "
        "the largest project the port has attempted in decades.</p>"
        for i in range(6)
    )
    + "<div class='related-stories'><a href='/x'>Another story entirely about the weather</a></div>"
    "</article></body></html>"
)


def run_clean(tmp_path: Path, lines: list[str]) -> list[dict]:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    subprocess.run(
        [sys.executable, "-m", "streams", "clean", "--input", str(source), "--output", str(target)],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def test_clean_writes_a_record_per_input_and_rejections_with_their_code(tmp_path: Path):
    """A text article, an HTML page and two bad lines give two records and two rejections, in order."""
    text = "Harbour City's council voted on Tuesday to build a 4.2-kilometre flood barrier. " * 3
    records = run_clean(
        tmp_path,
        [
            json.dumps(
                {"id": "a1", "url": "https://News.example.com/a?utm_source=x", "title": "T", "text": text}
            ),
            json.dumps({"id": "p1", "url": "https://news.example.com/p", "html": PAGE}),
            "{not json",
            json.dumps({"id": "e1", "url": "https://news.example.com/e", "text": "short"}),
        ],
    )
    assert [r.get("id") for r in records[:2]] == ["a1", "p1"]
    first, page = records[0], records[1]
    assert first["canonical_url"] == "https://news.example.com/a"
    assert first["extractor"] == "text"
    assert first["word_count"] == len(first["text"].split())
    assert page["extractor"] == "resiliparse"
    assert page["title"] == "Harbour City approves its flood barrier"
    assert "Paragraph 5" in page["text"]
    assert "Home" not in page["text"] and "weather" not in page["text"]
    assert set(first) == {"id", "url", "canonical_url", "title", "text", "word_count", "extractor"}
    assert records[2]["error"] == "invalid_json"
    assert records[3]["error"] == "empty_text"
