"""The CCIP (embedding) path at the field's scale: exact search against the usearch shortlist, per size.

Run from the repository root (needs the `scale` extra for the shortlist):
`.venv/bin/python -m benchmarks.embedding_scale [--rows 500000,1000000] [--sweep 62:64,250:64] [--json]`.
Each size builds a `Gallery` of rows / 5 characters x 5 references of 768-d embeddings (random unit
centres, references and queries at cosine about 0.8 to their centre), with a 1 - cosine "metric" of the CCIP
metric's signature (`differences_to`; the real model's cost and its shortlist recall are not measured here),
and measures (over QUERIES queries, or `--queries`):
- `build_s`: `Gallery.add_columns` of every reference (the store load's path); `ann_build_s`: the shortlist's
  build in its thread (training its inverted lists, then adding every row), until it has indexed every row;
  `ann_lists` / `ann_probes`: its lists, and the lists a query scans;
- `exact_p50_ms` / `exact_p95_ms`: `rank_region(..., exhaustive=True)` top-10 (every row scored);
- `ann_p50_ms` / `ann_p95_ms`: `rank_region` top-10 with the shortlist proposing, the metric re-ranking;
- `recall_at_10`: the shortlist ranking's top-10 characters found in the exact top-10, averaged over queries;
- `sweep`: p50 and recall of other `probes:rows` shortlist settings on the same lists;
- `numpy_ms`: the exact maths as one expression (matrix-vector product over the stacked unit rows, top-10 rows);
- `approve_ms` (median of 5; `approve_max_ms`): one approval (`Gallery.add`) plus the next ranking, until the
  new character leads; `approve_add_ms`: the approval's own time on the loop (worst of 5);
  `approve_pending`: how many of the 5 ranked before the shortlist had indexed the new row;
- `lag`: the event loop's delays (benchmarks/loop_lag.py) in `--rounds` (6) rounds of interleaved windows:
  "exact" (`--window-queries` (5) exact rankings, BLAS capped as the bot caps it: bot/recognition/math_threads.py),
  "exact uncapped" (the same on every core; only where the cap leaves fewer), "shortlist" (shortlist rankings
  back to back, as long as the exact window) and "idle" (nothing ranking, as long): per kind, medians over
  its windows of the worst tick, the 99th-percentile tick, the ticks over 5 ms a minute, and of those late
  ticks' delay the share the loop thread spent waiting for a core; and the worst tick of all its windows;
- the gallery's objects are frozen out of garbage collections after the build, as the bot's process freezes
  what it loaded (bot/recognition/collector.py), and handed back at the end of the size;
- `rss_mb`: the process's peak resident memory after the build (the benchmark's own data included);
- `load_avg`: the machine's 1-minute load average before the build and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.loop_lag import interleaved, lag_lines
from benchmarks.records import CREATED, approved
from benchmarks.scale_parts import print_rows
from bot.recognition.analysis import RegionAnalysis
from bot.recognition.collector import freeze_what_is_loaded, thaw
from bot.recognition.gallery import Gallery
from bot.recognition.math_threads import cores_beside_the_loop, leave_a_core_for_the_loop, usable_cores
from bot.recognition.vocabulary import Vocabulary
from bot.services.identify import rank_region
from bot.store.records import CharacterRecord, ReferenceRecord
from bot.store.reference_columns import NO_GUILD, ReferenceColumns

DIM = 768
REFS = 5
SERIES = 20
QUERIES = 100
ROUNDS = 6
WINDOW_QUERIES = 5
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
    """The gallery as a store load fills it: one `add_columns` of every reference (as `CharacterStore` reads them)."""
    centres, vectors = data(rows, noise)
    gallery = Gallery(VOCABULARY, metric=CosineMetric(), ann_min_rows=ann_min_rows)
    characters = {
        i + 1: CharacterRecord(i + 1, f"character {i + 1}", None, (), None, CREATED) for i in range(len(centres))
    }
    count = len(vectors)
    columns = ReferenceColumns(
        ids=np.arange(1, count + 1),
        owners=np.arange(count) // REFS + 1,
        scopes=np.full(count, NO_GUILD),
        tags=np.broadcast_to(TAGS, (count, len(TAGS))),
        blocks={},
        embeddings=(np.arange(count), vectors),
        faces=None,
    )
    start = time.perf_counter()
    gallery.add_columns(characters, columns)
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


async def lag_windows(
    gallery: Gallery, queries: list[np.ndarray], rounds: int, per_window: int, shortlist: bool, exact_s: float
) -> dict[str, dict[str, float]]:
    """The loop's delays in interleaved windows of exact, uncapped exact, shortlist and no rankings (loop_lag.py)."""
    turn = itertools.count()

    def next_queries(count: int) -> list[np.ndarray]:
        return [queries[next(turn) % len(queries)] for _ in range(count)]

    async def exact(_: float) -> None:
        await timed(gallery, next_queries(per_window), exhaustive=True)

    async def uncapped(_: float) -> None:
        with threadpool_limits(limits=usable_cores(), user_api="blas"):
            await timed(gallery, next_queries(per_window), exhaustive=True)

    async def shortlisted(length: float) -> None:
        end = time.perf_counter() + length
        while time.perf_counter() < end:
            await timed(gallery, next_queries(1), exhaustive=False)

    kinds = {"exact": exact}
    if cores_beside_the_loop() < usable_cores():
        kinds["exact uncapped"] = uncapped
    if shortlist:
        kinds["shortlist"] = shortlisted
    return await interleaved(kinds, rounds, length=exact_s * per_window)


def ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 2) if values else None


def recall(found: list[list], exact: list[list]) -> float:
    """The shortlist ranking's top-10 characters found in the exact top-10, averaged over queries."""
    return round(statistics.mean(len(set(a) & set(e)) / len(e) for a, e in zip(found, exact, strict=True)), 4)


async def sweep(gallery: Gallery, queries: list[np.ndarray], exact_tops: list[list], settings: str) -> list[dict]:
    """p50 and recall@10 of other (probes, shortlist rows) settings on the same lists (no rebuild)."""
    index, found = gallery._embeddings, []
    ann, rows = index._ann, index.shortlist
    if ann is None:
        return []
    probes = ann.probes
    for setting in filter(None, settings.split(",")):
        ann.probes, index.shortlist = (int(part) for part in setting.split(":"))
        times, tops = await timed(gallery, queries, exhaustive=False)
        found.append(
            {"setting": setting, "p50_ms": ms(times, 50), "p95_ms": ms(times, 95), "recall": recall(tops, exact_tops)}
        )
    ann.probes, index.shortlist = probes, rows
    return found


async def approve(gallery: Gallery, rng: np.random.Generator, character_id: int, reference_id: int) -> dict:
    """One approval on the loop, then rankings until the new character leads (at once: newer rows are exact)."""
    newcomer = CharacterRecord(character_id, "newcomer", None, (), None, CREATED)
    fresh = unit(rng.standard_normal(DIM, dtype=np.float32))
    start = time.perf_counter()
    gallery.add(newcomer, _reference(reference_id, newcomer.id, fresh))
    added = time.perf_counter()
    ann = gallery._embeddings._ann
    pending = ann is not None and ann.indexed <= gallery._embeddings._next_slot - 1
    answer = await rank_region(gallery, RegionAnalysis(box=None, tag_probs=TAGS, embedding=fresh))
    assert answer.candidates[0].character.id == newcomer.id
    done = time.perf_counter()
    return {"ms": (done - start) * 1000, "add_ms": (added - start) * 1000, "pending": pending}


async def measure(
    rows: int,
    noise: float,
    ann_min_rows: int | None,
    settings: str = "",
    queries: int = QUERIES,
    rounds: int = ROUNDS,
    window_queries: int = WINDOW_QUERIES,
) -> dict[str, object]:
    """Every figure of one size."""
    load_before = os.getloadavg()[0]
    gallery, centres, vectors, build_s = build(rows, noise, ann_min_rows)
    start = time.perf_counter()
    shortlist = gallery._embeddings.wait_for_shortlist() and gallery._embeddings.wait_until_indexed()
    ann_build_s = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    freeze_what_is_loaded()  # as the bot's process does once its gallery is loaded (bot/app.py)
    rng = np.random.default_rng(1)
    picks = rng.integers(len(centres), size=queries)
    spread = noise / float(np.sqrt(DIM))
    queries = [unit(centres[i] + rng.standard_normal(DIM, dtype=np.float32) * spread).astype(np.float32) for i in picks]
    exact_times, exact_tops = await timed(gallery, queries, exhaustive=True)
    ann_times, ann_tops = await timed(gallery, queries, exhaustive=False) if shortlist else ([], [])
    lag = await lag_windows(gallery, queries, rounds, window_queries, shortlist, statistics.median(exact_times))
    swept = await sweep(gallery, queries, exact_tops, settings) if shortlist else []
    numpy_ms = []
    for query in queries:
        begin = time.perf_counter()
        found = vectors @ query
        np.argpartition(-found, 10)[:10]
        numpy_ms.append((time.perf_counter() - begin) * 1000)
    approvals = [await approve(gallery, rng, len(centres) + 1 + n, 10 * rows + 1 + n) for n in range(5)]
    thaw()
    return {
        "rows": rows,
        "characters": len(centres),
        "build_s": round(build_s, 2),
        "ann_build_s": round(ann_build_s, 2) if shortlist else None,
        "ann_lists": gallery._embeddings._ann.lists if shortlist else None,
        "ann_probes": gallery._embeddings._ann.probes if shortlist else None,
        "exact_p50_ms": ms(exact_times, 50),
        "exact_p95_ms": ms(exact_times, 95),
        "ann_p50_ms": ms(ann_times, 50),
        "ann_p95_ms": ms(ann_times, 95),
        "recall_at_10": recall(ann_tops, exact_tops) if shortlist else None,
        "numpy_ms": round(statistics.median(numpy_ms), 2),
        "approve_ms": round(statistics.median(a["ms"] for a in approvals), 1),
        "approve_max_ms": round(max(a["ms"] for a in approvals), 1),
        "approve_add_ms": round(max(a["add_ms"] for a in approvals), 2),
        "approve_pending": sum(bool(a["pending"]) for a in approvals),
        "lag": lag,
        "rss_mb": round(rss_mb),
        "load_avg": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "switch_interval_ms": round(sys.getswitchinterval() * 1000, 2),
        "sweep": swept,
    }


def main() -> None:
    """Print the table (or one JSON list of objects, one per size)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="500000,1000000")
    parser.add_argument("--noise", type=float, default=0.75, help="reference spread around its centre (norm)")
    parser.add_argument("--ann-min-rows", type=int, default=1, help="0: exact search only")
    parser.add_argument("--sweep", default="", help="more probes:rows settings to measure, e.g. 250:64")
    parser.add_argument("--queries", type=int, default=QUERIES, help="queries per phase")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of interleaved lag windows")
    parser.add_argument("--window-queries", type=int, default=WINDOW_QUERIES, help="exact rankings a lag window")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval (s) for the run; default: 0.005")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    leave_a_core_for_the_loop()  # as the bot's process does (bot/app.py)
    threshold = args.ann_min_rows or None
    rows = [
        asyncio.run(measure(int(n), args.noise, threshold, args.sweep, args.queries, args.rounds, args.window_queries))
        for n in args.rows.split(",")
    ]
    if args.json:
        print_rows(rows, as_json=True)
        return
    print_rows([{key: value for key, value in row.items() if key != "lag"} for row in rows], as_json=False)
    for row in rows:
        print(f"\nevent-loop lag at {row['rows']} rows ({args.rounds} rounds)")
        print("\n".join(lag_lines(row["lag"])))


if __name__ == "__main__":
    main()
