"""The README's settings table is generated from the settings, and stays in sync."""

from __future__ import annotations

import re
from pathlib import Path

from streams.settings import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"
MARKERS = re.compile(r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", re.DOTALL)


def test_readme_settings_table_matches_the_settings():
    """Every STREAMS_* variable is in the README with its current default and meaning.

    To refresh: python -c "import tests.unit.test_docs as t; t.write_table()"
    """
    match = MARKERS.search(README.read_text(encoding="utf-8"))
    assert match is not None, "settings-table markers are missing from README.md"
    assert match.group(1) == settings_table()


def write_table() -> None:
    text = README.read_text(encoding="utf-8")
    block = f"<!-- settings-table:start -->\n{settings_table()}\n<!-- settings-table:end -->"
    README.write_text(
        re.sub(r"<!-- settings-table:start -->.*?<!-- settings-table:end -->", block, text, flags=re.DOTALL)
    )
