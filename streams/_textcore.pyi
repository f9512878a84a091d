# The compiled text core of streams.fingerprint and streams.cleaning (streams/_native/textcore.c).

def sketch(
    words: list[bytes],
    size: int,
    stop: frozenset[bytes],
    permutations: bytes,
    lead_shingles: int,
    lead_permutations: bytes,
    divisor: int,
    min_length: int,
    sample: int,
    chunk_seed: int,
    bands: int,
    rows: int,
    lead_bands: int,
    lead_rows: int,
    lead_salt: int,
    /,
) -> tuple[bytes, int, bytes, tuple[int, ...]]: ...
def sketch_spaced(
    spaced: bytes,
    size: int,
    stop: frozenset[bytes],
    permutations: bytes,
    lead_shingles: int,
    lead_permutations: bytes,
    divisor: int,
    min_length: int,
    sample: int,
    chunk_seed: int,
    bands: int,
    rows: int,
    lead_bands: int,
    lead_rows: int,
    lead_salt: int,
    /,
) -> tuple[bytes, bytes, int, bytes, tuple[int, ...]]: ...
def lines_with_any(text: bytes, words: tuple[bytes, ...], /) -> list[int]: ...
