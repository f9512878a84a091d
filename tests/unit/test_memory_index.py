"""MemoryIndex, the plain-Python reference of the index's decision, on directed cases (no server).

The same cases run against Redis in tests/integration/test_index_equivalence.py.
"""

from __future__ import annotations

import asyncio

import pytest

from streams.memory_index import MemoryIndex
from tests.index_scenarios import SCENARIOS, config


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str) -> None:
    changes, scenario = SCENARIOS[name]
    asyncio.run(scenario(MemoryIndex(config(**changes))))
