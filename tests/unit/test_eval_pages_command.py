"""``streams eval --pages``: extraction scores of the default extractor beside trafilatura (a subprocess)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

STORY = [
    f"Paragraph {i} tells how the harbour council approved the flood barrier after a long debate."
    for i in range(6)
]


def test_eval_pages_scores_the_default_extractor_beside_trafilatura(tmp_path: Path):
    """Two gzipped pages: JSON with a row per extractor, the default first, F1 high on a plain page."""
    html = "<html><body><nav><a href='/'>Home</a></nav><article>" + "".join(f"<p>{p}</p>" for p in STORY)
    html += "</article><div class='most-popular'><a href='/x'>Ten things about cats</a></div></body></html>"
    pages = tmp_path / "pages.jsonl.gz"
    with gzip.open(pages, "wt", encoding="utf-8") as handle:
        for i in range(2):
            handle.write(json.dumps({"id": str(i), "html": html, "expected_text": "\n".join(STORY)}) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    run = subprocess.run(
        [sys.executable, "-m", "streams", "eval", "--pages", str(pages), "--json"],
        env=env, capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    extraction = json.loads(run.stdout)["extraction"]
    assert list(extraction) == ["streams, resiliparse", "trafilatura.extract(html)"]
    default = extraction["streams, resiliparse"]
    assert default["pages"] == 2
    assert default["precision"] == default["recall"] == 1.0
