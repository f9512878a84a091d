"""streams: a streaming near-duplicate filter for news (Faust, MinHash, a Redis LSH index)."""

__version__ = "0.1.0"
