"""The parameters that make two fingerprints comparable, apart from the code that computes them.

A module of its own so that the settings (and everything that only reads them) import without the
text stack (numpy, ftfy, selectolax) that :mod:`streams.fingerprint` needs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FingerprintParams:
    """What makes two signatures comparable; it is encoded in the index namespace."""

    shingle_kind: str = "word"
    shingle_size: int = 2
    num_perm: int = 128
    seed: int = 1
    bands: int = 42
    rows: int = 3
    lead_shingles: int = 20
    lead_bands: int = 4
    lead_rows: int = 4
    chunk_divisor: int = 8
    chunk_min_shingles: int = 5
    chunk_sample: int = 10

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"{self.bands} bands of {self.rows} rows need {self.bands * self.rows} permutations, "
                f"but num_perm is {self.num_perm}: lower the bands or rows, or raise num_perm."
            )
        if self.lead_bands * self.lead_rows > self.num_perm:
            raise ValueError("lead_bands * lead_rows must not exceed num_perm")

    def version_tag(self) -> str:
        """A short stable tag for the Redis namespace: changes whenever signatures or bands would."""
        return (
            f"{self.shingle_kind}{self.shingle_size}-p{self.num_perm}-s{self.seed}-b{self.bands}x{self.rows}"
            f"-l{self.lead_shingles}x{self.lead_bands}x{self.lead_rows}"
            f"-c{self.chunk_divisor}x{self.chunk_min_shingles}x{self.chunk_sample}"
        )
