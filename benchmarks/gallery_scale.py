"""The gallery at the field's scale: build, rank, approve-to-visible and loop lag per size, against plain numpy.

Run from the repository root: `.venv/bin/python -m benchmarks.gallery_scale [--sizes 1000,10000] [--json]`;
with `--all`, every other figure of the gallery at scale too, as one object: the SQLite load at each size (and
at the largest with 768-d embeddings), the embedding path at `--embedding-rows`, and the duplicate lookup
(benchmarks/scale_parts.py runs each in its own process, so each RSS is its own gallery's).
Each size builds a `Gallery` of N characters x 5 references with the palette vocabulary's 145 dims (random
vectors clustered per character, as the fitted metric sees real ones), then measures on one core:
- `build_s`: indexing every reference with `Gallery.add_many` (start-up after the store is read), and the first fit;
- `rank_p50_ms` / `rank_p95_ms`: `rank_region` of a query (snapshot on the loop, ranking where it runs);
- `uncapped_rank_p50_ms`: the same with BLAS on every core (the lag windows' "ranking uncapped", same run);
- `approve_ms`: one approval (`Gallery.add`) plus the next ranking, until the new character answers;
- `loop_lag_ms` / `loop_lag_p99_ms` / `idle_lag_ms`: the event loop's delays (benchmarks/loop_lag.py) in ROUNDS
  rounds of interleaved windows of QUERIES rankings back to back (BLAS capped as the bot caps it), of the same
  uncapped, and idle: the median over windows of each window's worst tick (and p99), the idle windows' worst;
  `lag` (in `--json`) holds every kind's figures;
- `numpy_ms`: the same maths as one stacked expression (whitened distances to a profile matrix, median
  ratio, argpartition top-10) on matrices prepared outside the timing, and `ratio` = rank p50 / numpy.
- `rss_mb`: the process's resident memory after the build.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.loop_lag import interleaved
from benchmarks.records import CREATED, approved
from benchmarks.scale_parts import all_parts, print_rows
from bot.recognition.analysis import RegionAnalysis
from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.collector import freeze_what_is_loaded, thaw
from bot.recognition.gallery import Gallery
from bot.recognition.math_threads import cores_beside_the_loop, leave_a_core_for_the_loop, usable_cores
from bot.recognition.vocabulary import Vocabulary
from bot.services.identify import rank_region
from bot.store.records import CharacterRecord, ReferenceRecord

DIMS = 145
REFS = 5
QUERIES = 40
ROUNDS = 6
TAGGER = "palette@bench"


def _records(count: int, rng: np.random.Generator) -> tuple[list[CharacterRecord], np.ndarray]:
    characters = [CharacterRecord(i + 1, f"character {i + 1}", None, (), None, CREATED) for i in range(count)]
    centres = rng.random((count, DIMS), dtype=np.float32)
    return characters, centres


def _reference(reference_id: int, character_id: int, vector: np.ndarray) -> ReferenceRecord:
    return approved(reference_id, character_id, tagger=TAGGER, tag_vector=vector)


def build(count: int, seed: int = 0) -> tuple[Gallery, np.ndarray, float]:
    """A gallery of `count` characters x REFS references; returns it, the centres and the seconds it took."""
    rng = np.random.default_rng(seed)
    characters, centres = _records(count, rng)
    vocabulary = Vocabulary(tagger=TAGGER, indices=np.arange(DIMS), names=tuple(f"t{i}" for i in range(DIMS)))
    gallery = Gallery(vocabulary, block_weights={TAGS_BLOCK: 1.0})
    noise = rng.normal(0, 0.05, (count, REFS, DIMS)).astype(np.float32)
    pairs = [
        (character, _reference(index * REFS + ref + 1, character.id, centres[index] + noise[index, ref]))
        for index, character in enumerate(characters)
        for ref in range(REFS)
    ]
    start = time.perf_counter()
    gallery.add_many(pairs)  # as a load does
    return gallery, centres, time.perf_counter() - start


def numpy_reference(gallery: Gallery, centres: np.ndarray, query: np.ndarray) -> tuple[float, np.ndarray]:
    """The ranking's maths as one stacked expression over prepared matrices: (ms, top-10 rows)."""
    index = gallery.blocks
    assert index is not None
    fitted = index.fitted()[TAGS_BLOCK]
    profiles = (centres.astype(np.float64)) @ fitted.whitening.T  # prepared outside the timing
    start = time.perf_counter()
    distances = np.linalg.norm(profiles - fitted.transform(query)[None, :], axis=1) / fitted.scale
    distances /= np.median(distances)
    top = np.argpartition(distances, 10)[:10]
    top = top[np.argsort(distances[top])]
    return (time.perf_counter() - start) * 1000, top


async def measure(count: int) -> dict[str, float]:
    """Every figure of one gallery size."""
    gallery, centres, build_s = build(count)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = np.random.default_rng(1)
    queries = [centres[rng.integers(count)] + rng.normal(0, 0.05, DIMS).astype(np.float32) for _ in range(QUERIES)]
    start = time.perf_counter()
    await rank_region(gallery, RegionAnalysis(box=None, tag_probs=queries[0]))  # the first fit
    build_s += time.perf_counter() - start
    freeze_what_is_loaded()  # as the bot's process does once its gallery is loaded (bot/app.py)
    times: list[float] = []  # the bot's setting; the uncapped windows time into their own list
    uncapped_times: list[float] = []

    async def ranking(_: float, times: list[float] = times) -> None:
        for query in queries:
            await asyncio.sleep(0.002)  # let the ticker run between queries, as other tasks of a bot would
            start = time.perf_counter()
            await rank_region(gallery, RegionAnalysis(box=None, tag_probs=query))
            times.append(time.perf_counter() - start)

    async def uncapped(length: float) -> None:
        with threadpool_limits(limits=usable_cores(), user_api="blas"):
            await ranking(length, uncapped_times)

    kinds = {"ranking": ranking, **({"ranking uncapped": uncapped} if cores_beside_the_loop() < usable_cores() else {})}
    lag = await interleaved(kinds, ROUNDS)
    newcomer = CharacterRecord(count + 1, "newcomer", None, (), None, CREATED)
    vector = rng.random(DIMS, dtype=np.float32)
    start = time.perf_counter()
    for ref in range(2):
        gallery.add(newcomer, _reference(10 * count + ref, newcomer.id, vector))
    answer = await rank_region(gallery, RegionAnalysis(box=None, tag_probs=vector))
    approve_ms = (time.perf_counter() - start) * 1000
    assert answer.candidates[0].character.id == newcomer.id
    numpy_ms = statistics.median(numpy_reference(gallery, centres, q)[0] for q in queries)
    rank_p50 = statistics.median(times) * 1000
    thaw()
    return {
        "characters": count,
        "references": count * REFS,
        "build_s": round(build_s, 3),
        "rank_p50_ms": round(rank_p50, 2),
        "rank_p95_ms": round(float(np.percentile(times, 95)) * 1000, 2),
        "uncapped_rank_p50_ms": round(statistics.median(uncapped_times) * 1000, 2) if uncapped_times else None,
        "approve_ms": round(approve_ms, 1),
        "loop_lag_ms": lag["ranking"]["worst_ms"],
        "loop_lag_p99_ms": lag["ranking"]["p99_ms"],
        "idle_lag_ms": lag["idle"]["worst_ms"],
        "numpy_ms": round(numpy_ms, 3),
        "ratio": round(rank_p50 / max(numpy_ms, 1e-6), 1),
        "rss_mb": round(rss_mb),
        "lag": lag,
    }


def main() -> None:
    """Print the table (or one JSON object per size)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--all", action="store_true", help="also every other scale figure, each part in a process")
    parser.add_argument("--embedding-rows", default="500000,1000000", help="sizes of the embedding path (--all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    leave_a_core_for_the_loop()  # as the bot's process does (bot/app.py)
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = [asyncio.run(measure(size)) for size in sizes]
    if args.all:
        embedding_rows = [int(size) for size in args.embedding_rows.split(",")]
        report = {"tag_path": rows, **all_parts(sizes, embedding_rows, duplicate_store=500_000)}
        print(json.dumps(report, indent=None if args.json else 2))
        return
    print_rows(rows if args.json else [{k: v for k, v in row.items() if k != "lag"} for row in rows], as_json=args.json)


if __name__ == "__main__":
    main()
