"""What one band lookup and write costs Redis inside a Lua script: listpack hashes against the band table.

The index's script makes about 100 ``redis.call``s per article, most of them one per LSH band. This
measures the two layouts' calls on their own, on a fresh ``redis-server`` (``start_redis`` of
``streams.tools.localstack``: a free port, no persistence), as Redis's own time per call (``INFO
commandstats``, best of the rounds):

* ``HGET`` (a miss, as most band lookups are) and ``HGET`` + ``HSET`` on 2^17 small hashes of K
  entries each, Redis's listpack encoding: the layout before the band table, whose hashes fill up as
  the index does;
* ``GETRANGE`` of a 144-byte bucket plus the check search, and that plus a ``SETRANGE``, on strings of
  28 buckets: the band table, the same whatever is in it::

    .venv/bin/python benchmarks/redis_ops.py                 # K = 0, 1, 28, 56, 96
    .venv/bin/python benchmarks/redis_ops.py --entries 0 56

Not part of the test suite (it measures).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path
from typing import Any

import redis

from streams.tools.localstack import start_redis

HASH_KEYS = 1 << 17
TABLE_KEYS = 1 << 14
KEY_BYTES = 28 * 144
CALLS = 20_000

HASH_OPS = """
local n, keys, write, x = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
for _ = 1, n do
  x = (x * 48271) % 2147483647
  local key = 'h:' .. (x % keys)
  local field = tostring(x % 16777216)
  redis.call('HGET', key, field)
  if write then redis.call('HSET', key, field, '123456') end
end
"""

TABLE_OPS = """
local n, keys, write, x = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
for _ = 1, n do
  x = (x * 48271) % 2147483647
  local key = 't:' .. (x % keys)
  local offset = (x % 28) * 144
  local bucket = redis.call('GETRANGE', key, offset, offset + 143)
  string.find(bucket, '\\128\\1', 1, true)
  if write then redis.call('SETRANGE', key, offset + 6, '\\128\\1abcd\\0\\0\\0\\0\\0\\0') end
end
"""


def us_per_call(client: Any, script: str, keys: int, write: bool, rounds: int) -> float:
    """Redis's own microseconds per loop iteration of ``script``, best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        client.config_resetstat()
        client.eval(script, 0, CALLS, keys, "1" if write else "0", random.randrange(1, 2**31 - 1))
        stats = client.info("commandstats")["cmdstat_eval"]
        best = min(best, stats["usec"] / CALLS)
    return best


def fill_hashes(client: Any, entries: int) -> None:
    client.flushall()
    pipe = client.pipeline(transaction=False)
    for key in range(HASH_KEYS):
        if entries:
            fields = {str(random.randrange(1 << 24)): str(random.randrange(10**6)) for _ in range(entries)}
            pipe.hset(f"h:{key}", mapping=fields)
        if key % 1000 == 999:
            pipe.execute()
    pipe.execute()


def fill_table(client: Any) -> None:
    client.flushall()
    pipe = client.pipeline(transaction=False)
    for key in range(TABLE_KEYS):
        pipe.set(f"t:{key}", random.randbytes(KEY_BYTES))
        if key % 100 == 99:
            pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[0, 1, 28, 56, 96],
                        help="entries per hash to measure (default 0 1 28 56 96)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=10, help="measurements of each, best kept (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="redis-ops-") as tmp, start_redis(Path(tmp)) as server:
        client = redis.Redis.from_url(server.url)
        print("| layout | entries | read us/call | read + write us/call | Redis MB |")
        print("|---|---:|---:|---:|---:|")
        for entries in args.entries:
            fill_hashes(client, entries)
            read = us_per_call(client, HASH_OPS, HASH_KEYS, False, args.rounds)
            both = us_per_call(client, HASH_OPS, HASH_KEYS, True, args.rounds)
            fill_hashes(client, entries)  # the writes above added entries
            memory = client.info("memory")["used_memory"] / 1e6
            print(f"| {HASH_KEYS:,} listpack hashes | {entries} | {read:.2f} | {both:.2f} | {memory:,.0f} |")
        fill_table(client)
        read = us_per_call(client, TABLE_OPS, TABLE_KEYS, False, args.rounds)
        both = us_per_call(client, TABLE_OPS, TABLE_KEYS, True, args.rounds)
        memory = client.info("memory")["used_memory"] / 1e6
        layout = f"{TABLE_KEYS:,} band table keys of 28 buckets"
        print(f"| {layout} | any | {read:.2f} | {both:.2f} | {memory:,.0f} |")


if __name__ == "__main__":
    main()
