# The compiled core of streams.fingerprint (streams/_native/fpcore.c).

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
