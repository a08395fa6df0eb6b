"""Near-duplicate lookup at scale (issue 9 item 5): the hash index vs comparing with every hash, same run.

Run from the repository root: `.venv/bin/python -m benchmarks.duplicate_lookup [--json]` (about a minute on 2
cores; `--store 0` leaves out the SQLite part). Per size N of random 64-bit hashes (70% global, the rest in 100
guilds, the layout of many servers sharing one global gallery):
- build: `HashIndex.build` from the entries (start-up), and the memory it holds (tracemalloc: numpy and the dict);
  `near found` is the share of near hashes visible from no guild that were found (the 70% global ones);
- lookup p50/p95 for a near hash (a stored one with 0-4 bits flipped: the duplicate case) and a far one (random:
  the usual, new picture), from a guild;
- brute force: one numpy XOR + popcount over all N hashes with the guild mask, what the index replaces, and the
  ratio of its p50 to the index's near p50.
With `--store N`, a SQLite store of N references (bulk-inserted into the migrated schema) measures what a
submission pays end to end: `DuplicateCheck.load` at start, and `find_duplicate` p50/p95 (change-feed poll,
index, the candidate's record read) for a near and a far picture.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from bot.recognition.analysis import ImageAnalysis, RegionAnalysis
from bot.recognition.hash_index import HashEntry, HashIndex, popcount
from bot.services.duplicates import DuplicateCheck
from bot.store.repository import CharacterStore
from bot.store.tables import Reference

SIZES = (10_000, 100_000, 500_000)
RADIUS = 4
LOOKUPS = 2000
GUILDS = 100


def random_entries(count: int, rng: np.random.Generator) -> list[HashEntry]:
    """Random hashes, 70% global and the rest spread over GUILDS guilds, 10 references a character."""
    values = rng.integers(0, 2**64, count, dtype=np.uint64, endpoint=False).tolist()
    guilds = np.where(rng.random(count) < 0.7, 0, rng.integers(1, GUILDS + 1, count)).tolist()
    return [
        HashEntry(number + 1, value, guild or None, number // 10 + 1, "approved" if number % 5 else "pending")
        for number, (value, guild) in enumerate(zip(values, guilds, strict=True))
    ]


def near_hash(value: int, rng: random.Random) -> int:
    """A stored hash with 0-4 of its bits flipped: what a recompressed copy looks like."""
    for bit in rng.sample(range(64), rng.randint(0, RADIUS)):
        value ^= 1 << bit
    return value


def percentiles_ms(action: Callable[[int], object], arguments: list[int]) -> tuple[float, float]:
    """p50 and p95 wall time of `action(argument)` in milliseconds."""
    times = []
    for argument in arguments:
        start = time.perf_counter()
        action(argument)
        times.append((time.perf_counter() - start) * 1000.0)
    cut = statistics.quantiles(times, n=20)
    return statistics.median(times), cut[18]


def measure_index(count: int, seed: int) -> dict[str, float | int]:
    """Build, memory, lookups and the brute-force reference for one size."""
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    entries = random_entries(count, rng)
    start = time.perf_counter()
    index = HashIndex.build(entries, RADIUS)
    build_s = time.perf_counter() - start
    tracemalloc.start()  # a second build, traced: tracing slows allocation, so it is not the timed one
    before = tracemalloc.get_traced_memory()[0]
    traced = HashIndex.build(entries, RADIUS)
    memory = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del traced
    values = np.fromiter((entry.value for entry in entries), np.uint64, count)
    guilds = np.fromiter((entry.guild_id or -1 for entry in entries), np.int64, count)
    near = [near_hash(pick.choice(entries).value, pick) for _ in range(LOOKUPS)]
    far = [pick.getrandbits(64) for _ in range(LOOKUPS)]
    guild = 7

    def brute_force(value: int) -> np.ndarray:
        distances = popcount(values ^ np.uint64(value))
        return np.flatnonzero((distances <= RADIUS) & ((guilds == -1) | (guilds == guild)))

    found = sum(bool(index.near(value, guild_id=None)) for value in near[:200])
    near_p50, near_p95 = percentiles_ms(lambda value: index.near(value, guild_id=guild), near)
    far_p50, far_p95 = percentiles_ms(lambda value: index.near(value, guild_id=guild), far)
    brute_p50, brute_p95 = percentiles_ms(brute_force, near[:200])
    return {
        "references": count,
        "build_s": round(build_s, 3),
        "memory_mb": round(memory / 2**20, 1),
        "near_p50_ms": round(near_p50, 4),
        "near_p95_ms": round(near_p95, 4),
        "far_p50_ms": round(far_p50, 4),
        "far_p95_ms": round(far_p95, 4),
        "brute_p50_ms": round(brute_p50, 3),
        "brute_p95_ms": round(brute_p95, 3),
        "ratio": round(brute_p50 / near_p50, 1),
        "near_found_share": round(found / 200, 3),
    }


def analysis_of(value: int) -> ImageAnalysis:
    """A submission's analysis with this hash (another tagger than the store's, so no tag vector is compared)."""
    return ImageAnalysis(
        tagger="bench@0", embedder=None, whole=RegionAnalysis(None, np.zeros(1, np.float32)), phash=f"{value:016x}"
    )


async def measure_store(count: int, seed: int) -> dict[str, float | int]:
    """Start-up and end-to-end `find_duplicate` against a SQLite store of `count` references."""
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    entries = random_entries(count, rng)
    with tempfile.TemporaryDirectory() as scratch:
        store = await CharacterStore.open(f"sqlite+aiosqlite:///{Path(scratch) / 'bench.sqlite3'}")
        try:
            characters = [(await store.create_character(f"Character {n}")).id for n in range(100)]
            now = datetime.now(UTC)
            rows = [
                {
                    "character_id": characters[entry.character_id % len(characters)],
                    "status": entry.status,
                    "guild_id": entry.guild_id,
                    "tagger": "palette@bench",
                    "tag_vector": b"\0" * 16,
                    "tag_dims": 4,
                    "phash": f"{entry.value:016x}",
                    "submitted_at": now,
                }
                for entry in entries
            ]
            start = time.perf_counter()
            async with store.engine.begin() as connection:
                for offset in range(0, count, 50_000):
                    await connection.execute(insert(Reference), rows[offset : offset + 50_000])
            insert_s = time.perf_counter() - start
            check = DuplicateCheck(store, gallery=None, max_distance=RADIUS)  # type: ignore[arg-type]
            start = time.perf_counter()
            await check.load()
            load_s = time.perf_counter() - start
            near = [near_hash(pick.choice(entries).value, pick) for _ in range(300)]
            far = [pick.getrandbits(64) for _ in range(300)]

            async def timed(values: list[int]) -> tuple[float, float, int]:
                times, found = [], 0
                for value in values:
                    begin = time.perf_counter()
                    found += await check.find_duplicate(analysis_of(value), guild_id=7) is not None
                    times.append((time.perf_counter() - begin) * 1000.0)
                return statistics.median(times), statistics.quantiles(times, n=20)[18], found

            near_p50, near_p95, found = await timed(near)
            far_p50, far_p95, _ = await timed(far)
        finally:
            await store.close()
    return {
        "references": count,
        "insert_s": round(insert_s, 1),
        "load_s": round(load_s, 2),
        "check_near_p50_ms": round(near_p50, 3),
        "check_near_p95_ms": round(near_p95, 3),
        "check_far_p50_ms": round(far_p50, 3),
        "check_far_p95_ms": round(far_p95, 3),
        "near_found_share": round(found / len(near), 3),
    }


def main() -> None:
    """Print the table (or one JSON object with `--json`)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--store", type=int, default=500_000, help="references in the SQLite run (0: skip it)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    index_rows = [measure_index(count, args.seed) for count in args.sizes]
    store_row = asyncio.run(measure_store(args.store, args.seed)) if args.store else None
    if args.json:
        print(json.dumps({"radius": RADIUS, "index": index_rows, "store": store_row}, indent=2))
        return
    print(f"Hash index (multi-index hashing, radius {RADIUS}) vs numpy XOR+popcount over every hash; from a guild")
    print(
        f"{'refs':>8} {'build':>7} {'memory':>8} {'near p50':>9} {'p95':>8} {'far p50':>8} {'p95':>8}"
        f" {'brute p50':>10} {'p95':>8} {'ratio':>7}"
    )
    for row in index_rows:
        print(
            f"{row['references']:>8} {row['build_s']:>6.2f}s {row['memory_mb']:>6.1f}MB"
            f" {row['near_p50_ms']:>7.3f}ms {row['near_p95_ms']:>6.3f}ms {row['far_p50_ms']:>6.3f}ms"
            f" {row['far_p95_ms']:>6.3f}ms {row['brute_p50_ms']:>8.2f}ms {row['brute_p95_ms']:>6.2f}ms"
            f" {row['ratio']:>6.0f}x"
        )
    if store_row:
        print(f"\nSQLite store of {store_row['references']} references (bulk insert {store_row['insert_s']} s)")
        print(f"DuplicateCheck.load (feed start, one narrow query, build): {store_row['load_s']} s")
        print(
            f"find_duplicate near p50 {store_row['check_near_p50_ms']} ms p95 {store_row['check_near_p95_ms']} ms"
            f" (found {store_row['near_found_share']:.0%}); far p50 {store_row['check_far_p50_ms']} ms"
            f" p95 {store_row['check_far_p95_ms']} ms"
        )


if __name__ == "__main__":
    main()
