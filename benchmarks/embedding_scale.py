"""The CCIP (embedding) path at the field's scale: exact search against the usearch shortlist, per size.

Run from the repository root (needs the `scale` extra for the shortlist):
`.venv/bin/python -m benchmarks.embedding_scale [--rows 500000,1000000] [--json]`.
Each size builds a `Gallery` of rows / 5 characters x 5 references of 768-d embeddings (random unit
centres, references and queries at cosine about 0.8 to their centre), with a 1 - cosine "metric" of the CCIP
metric's signature (`differences_to`; the real model's cost and its shortlist recall are not measured here),
and measures:
- `build_s`: `Gallery.add_many` of every reference; `ann_build_s`: the shortlist's build in its thread;
- `exact_p50_ms` / `exact_p95_ms`: `rank_region(..., exhaustive=True)` top-10 (every row scored);
- `ann_p50_ms` / `ann_p95_ms`: `rank_region` top-10 with the shortlist proposing, the metric re-ranking;
- `recall_at_10`: the shortlist ranking's top-10 characters found in the exact top-10, averaged over queries;
- `numpy_ms`: the exact maths as one expression (matrix-vector product over the stacked unit rows, top-10 rows);
- `approve_ms`: one approval (`Gallery.add`) plus the next ranking, until the new character leads;
- `loop_lag_ms`: the event loop's largest delay while queries are ranked (a ticker task);
- `rss_mb`: the process's peak resident memory after the build (the benchmark's own data included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time

import numpy as np

from benchmarks.records import CREATED, approved
from bot.recognition.analysis import RegionAnalysis
from bot.recognition.gallery import Gallery
from bot.recognition.vocabulary import Vocabulary
from bot.services.identify import rank_region
from bot.store.records import CharacterRecord, ReferenceRecord

DIM = 768
REFS = 5
SERIES = 20
QUERIES = 40
TAGGER = "palette@bench"
EMBEDDER = "cosine@bench"
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.arange(2), names=("a", "b"))
TAGS = np.array([0.5, 0.5], dtype=np.float32)


class CosineMetric:
    """1 - cosine on unit rows, with the CCIP metric's signature (the stored rows are unit already)."""

    identity = EMBEDDER
    threshold = 0.178

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        return 1.0 - references @ (query / np.linalg.norm(query)).astype(np.float32)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _reference(reference_id: int, character_id: int, embedding: np.ndarray) -> ReferenceRecord:
    return approved(reference_id, character_id, tagger=TAGGER, tag_vector=TAGS, embedder=EMBEDDER, embedding=embedding)


def data(rows: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(unit centres [C, d], unit reference rows [C * REFS, d]), made in chunks to bound the peak memory.

    Characters come in series of SERIES (a franchise's shared art style): a character's centre is at cosine
    about 0.7 to its series', so a query's top-10 are its series' characters. Without that structure, ranks
    2-10 of a random gallery are noise (all near cosine 0), which no index can be asked to recall.
    """
    rng = np.random.default_rng(seed)
    count = rows // REFS
    series = unit(rng.standard_normal((count // SERIES + 1, DIM), dtype=np.float32))
    offsets = rng.standard_normal((count, DIM), dtype=np.float32) / float(np.sqrt(DIM))
    centres = unit(series[np.arange(count) // SERIES] + offsets).astype(np.float32)
    vectors = np.empty((count * REFS, DIM), dtype=np.float32)
    for start in range(0, count, 20_000):
        part = centres[start : start + 20_000]
        spread = rng.standard_normal((len(part), REFS, DIM), dtype=np.float32) * (noise / float(np.sqrt(DIM)))
        vectors[start * REFS : (start + len(part)) * REFS] = unit(part[:, None, :] + spread).reshape(-1, DIM)
    return centres, vectors


def build(rows: int, noise: float, ann_min_rows: int | None) -> tuple[Gallery, np.ndarray, np.ndarray, float]:
    centres, vectors = data(rows, noise)
    gallery = Gallery(VOCABULARY, metric=CosineMetric(), ann_min_rows=ann_min_rows)
    characters = [CharacterRecord(i + 1, f"character {i + 1}", None, (), None, CREATED) for i in range(len(centres))]
    start = time.perf_counter()
    gallery.add_many(
        (characters[row // REFS], _reference(row + 1, row // REFS + 1, vectors[row])) for row in range(len(vectors))
    )
    return gallery, centres, vectors, time.perf_counter() - start


async def timed(gallery: Gallery, queries: list[np.ndarray], *, exhaustive: bool) -> tuple[list[float], list[list]]:
    times, tops = [], []
    for query in queries:
        await asyncio.sleep(0.002)  # let the ticker run between queries, as other tasks of a bot would
        region = RegionAnalysis(box=None, tag_probs=TAGS, embedding=query)
        start = time.perf_counter()
        ranking = await rank_region(gallery, region, exhaustive=exhaustive)
        shown = [candidate.character.id for candidate in ranking.candidates[:10]]
        times.append(time.perf_counter() - start)
        tops.append(shown)
    return times, tops


async def measure(rows: int, noise: float, ann_min_rows: int | None) -> dict[str, float | None]:
    """Every figure of one size."""
    gallery, centres, vectors, build_s = build(rows, noise, ann_min_rows)
    start = time.perf_counter()
    shortlist = gallery._embeddings.wait_for_shortlist()
    ann_build_s = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = np.random.default_rng(1)
    picks = rng.integers(len(centres), size=QUERIES)
    spread = noise / float(np.sqrt(DIM))
    queries = [unit(centres[i] + rng.standard_normal(DIM, dtype=np.float32) * spread).astype(np.float32) for i in picks]
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - before - 0.001)

    ticking = asyncio.create_task(ticker())
    exact_times, exact_tops = await timed(gallery, queries, exhaustive=True)
    ann_times, ann_tops = await timed(gallery, queries, exhaustive=False) if shortlist else ([], [])
    stop.set()
    await ticking
    recall = [len(set(a) & set(e)) / len(e) for a, e in zip(ann_tops, exact_tops, strict=True)] if shortlist else []
    numpy_ms = []
    for query in queries:
        begin = time.perf_counter()
        found = vectors @ query
        np.argpartition(-found, 10)[:10]
        numpy_ms.append((time.perf_counter() - begin) * 1000)
    newcomer = CharacterRecord(len(centres) + 1, "newcomer", None, (), None, CREATED)
    fresh = unit(rng.standard_normal(DIM, dtype=np.float32))
    start = time.perf_counter()
    gallery.add(newcomer, _reference(10 * rows + 1, newcomer.id, fresh))
    answer = await rank_region(gallery, RegionAnalysis(box=None, tag_probs=TAGS, embedding=fresh))
    approve_ms = (time.perf_counter() - start) * 1000
    assert answer.candidates[0].character.id == newcomer.id

    def ms(values: list[float], q: float) -> float | None:
        return round(float(np.percentile(values, q)) * 1000, 2) if values else None

    return {
        "rows": rows,
        "characters": len(centres),
        "build_s": round(build_s, 2),
        "ann_build_s": round(ann_build_s, 2) if shortlist else None,
        "exact_p50_ms": ms(exact_times, 50),
        "exact_p95_ms": ms(exact_times, 95),
        "ann_p50_ms": ms(ann_times, 50),
        "ann_p95_ms": ms(ann_times, 95),
        "recall_at_10": round(statistics.mean(recall), 4) if recall else None,
        "numpy_ms": round(statistics.median(numpy_ms), 2),
        "approve_ms": round(approve_ms, 1),
        "loop_lag_ms": round(max(lags, default=0.0) * 1000, 1),
        "rss_mb": round(rss_mb),
    }


def main() -> None:
    """Print the table (or one JSON list of objects, one per size)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="500000,1000000")
    parser.add_argument("--noise", type=float, default=0.75, help="reference spread around its centre (norm)")
    parser.add_argument("--ann-min-rows", type=int, default=1, help="0: exact search only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    threshold = args.ann_min_rows or None
    rows = [asyncio.run(measure(int(size), args.noise, threshold)) for size in args.rows.split(",")]
    if args.json:
        print(json.dumps(rows))
        return
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[column]) for column in columns))


if __name__ == "__main__":
    main()
