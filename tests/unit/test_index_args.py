"""The script's packed band argument, and the band table's layout shared by index.py and decide.lua."""

from __future__ import annotations

import re
import struct
from importlib import resources

from hypothesis import given
from hypothesis import strategies as st

from streams import index
from streams.index import BUCKET_BYTES, BUCKETS_PER_KEY, batch_bands, packed_bands


@given(
    st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=80),
    st.integers(min_value=1, max_value=2**27),
)
def test_packed_bands_hold_each_bands_bucket_and_check(values: list[int], table_keys: int) -> None:
    packed = packed_bands(tuple(values), table_keys)
    assert len(packed) == 8 * len(values)
    triples = [struct.unpack_from(">IHH", packed, 8 * i) for i in range(len(values))]
    buckets = [(value >> 16) % (table_keys * BUCKETS_PER_KEY) for value in values]
    assert triples == [
        (bucket // BUCKETS_PER_KEY, bucket % BUCKETS_PER_KEY * BUCKET_BYTES, value & 0x7FFF | 0x8000)
        for value, bucket in zip(values, buckets, strict=True)
    ]


def test_the_script_lays_out_the_band_table_as_index_py_does() -> None:
    script = resources.files("streams").joinpath("lua/decide.lua").read_text(encoding="utf-8")
    found = re.search(r"local SLOTS, SLOT_BYTES, BUCKETS_PER_KEY = (\d+), (\d+), (\d+)", script)
    assert found is not None
    assert tuple(int(x) for x in found.groups()) == (index.BUCKET_SLOTS, index.SLOT_BYTES, BUCKETS_PER_KEY)


@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=12).map(tuple), max_size=6),
    st.integers(min_value=1, max_value=2**20),
)
def test_a_batch_names_each_bucket_once_and_each_band_its_place(
    articles: list[tuple[int, ...]], table_keys: int
) -> None:
    numbered, groups = batch_bands(articles, table_keys)
    packed = [packed_bands(bands, table_keys) for bands in articles]
    buckets = sorted({struct.unpack_from(">I", p, i)[0] for p in packed for i in range(0, len(p), 8)})
    # Each band keeps its offset and check; its bucket becomes the bucket's place (from 1) in the list.
    assert len(numbered) == len(articles)
    for mine, theirs in zip(numbered, packed, strict=True):
        assert len(mine) == len(theirs)
        for i in range(0, len(theirs), 8):
            place = struct.unpack_from(">I", mine, i)[0]
            assert buckets[place - 1] == struct.unpack_from(">I", theirs, i)[0]
            assert mine[i + 4 : i + 8] == theirs[i + 4 : i + 8]
    # The list: per band hash (the bucket's top 16 bits), its number and its buckets' low 16 bits.
    by_hash: dict[int, list[int]] = {}
    for bucket in buckets:
        by_hash.setdefault(bucket >> 16, []).append(bucket & 0xFFFF)
    expected: list[int | bytes] = [len(by_hash)]
    for band_hash, fields in by_hash.items():
        expected += [band_hash, struct.pack(f">{len(fields)}H", *fields)]
    assert groups == expected
