"""The script's packed band argument says the same as the (shard, field) pairs it replaced."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from streams.index import packed_bands


@given(
    st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=80),
    st.integers(min_value=4, max_value=32),
)
def test_packed_bands_hold_each_bands_shard_and_field(values: list[int], bits: int) -> None:
    packed = packed_bands(tuple(values), bits)
    assert len(packed) == 8 * len(values)
    pairs = [struct.unpack_from(">II", packed, 8 * i) for i in range(len(values))]
    assert pairs == [(value >> (64 - bits), value & 0xFFFFFF) for value in values]
