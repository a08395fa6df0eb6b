"""Feeding a pairwise metrics graph (issue 9 item 2): the old fixed 255-reference runs against measured chunks.

Run from the repository root: `.venv/bin/python -m benchmarks.pairwise_metric [--json]` (under a minute).
The graph is project-built with the CCIP metrics signature ([N, 768] -> [N, N]) and a per-pair cost like a learned
metric's: an MLP over every pair's combined features (`tests.models.hub_graphs.pair_mlp_metrics_graph`). One ONNX
thread, as the bot runs it. `old` is the feeding before this change, written out here: runs of the query plus 255
references, one row kept of each (255+1)^2 matrix. `new` is `CcipMetric.differences_to` / `differences_many`, its
chunk measured by the metric itself (`models.metric_chunks`). Times are medians of interleaved repeats; the
chunk sweep shows where the measured choice falls among fixed chunk sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from models.ccip import CcipMetric
from models.sessions import SessionConfig, create_session
from tests.models.hub_graphs import CCIP_DIM, pair_mlp_metrics_graph

OLD_CHUNK = 255
COUNTS = (256, 1024, 4096)
QUERIES = 4
SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 255)


def old_differences_to(metric: CcipMetric, query: np.ndarray, references: np.ndarray) -> np.ndarray:
    """The feeding this benchmark replaces: the query plus up to 255 references per run, one row kept."""
    row = query.reshape(1, -1)
    parts = [
        metric.differences(np.concatenate([row, references[start : start + OLD_CHUNK]]))[0, 1:]
        for start in range(0, len(references), OLD_CHUNK)
    ]
    return np.concatenate(parts)


def _old_many(metric: CcipMetric, queries: np.ndarray, references: np.ndarray) -> list[np.ndarray]:
    """Several queries the old way: one call each."""
    return [old_differences_to(metric, query, references) for query in queries]


def _new_singly(metric: CcipMetric, queries: np.ndarray, references: np.ndarray) -> list[np.ndarray]:
    """Several queries the new way but one call each: what sharing the runs saves on top of the chunk."""
    return [metric.differences_to(query, references) for query in queries]


def _median_ms(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median milliseconds of each call, the calls interleaved so a neighbour's burst slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def measure(repeats: int) -> dict[str, object]:
    """Old vs new for one query and for several, and a fixed-chunk sweep at the largest count."""
    rng = np.random.default_rng(1)
    references = rng.normal(size=(max(COUNTS), CCIP_DIM)).astype(np.float32)
    queries = rng.normal(size=(QUERIES, CCIP_DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="waifu-pairwise-") as scratch:
        session = create_session(pair_mlp_metrics_graph(Path(scratch) / "metrics.onnx"), SessionConfig())
    metric = CcipMetric(session, 0.2, name="pair-mlp", version="1")
    start = time.perf_counter()
    metric.differences_to(queries[0], references[:16])  # the first call over SMALL_CALL measures the run cost
    calibration_ms = (time.perf_counter() - start) * 1e3
    one, many = [], []
    for count in COUNTS:
        picked = references[:count]
        gap = float(
            np.abs(metric.differences_to(queries[0], picked) - old_differences_to(metric, queries[0], picked)).max()
        )
        timed = _median_ms(
            {
                "old": partial(old_differences_to, metric, queries[0], picked),
                "new": partial(metric.differences_to, queries[0], picked),
                "old_many": partial(_old_many, metric, queries, picked),
                "new_many": partial(metric.differences_many, queries, picked),
                "new_singly": partial(_new_singly, metric, queries, picked),
            },
            repeats,
        )
        one.append(
            {
                "references": count,
                "chunk": metric.chunk_for(1, picked.shape),
                "old_ms": timed["old"],
                "new_ms": timed["new"],
                "ratio": timed["old"] / timed["new"],
                "max_abs_gap": gap,
            }
        )
        many.append(
            {
                "references": count,
                "chunk": metric.chunk_for(QUERIES, picked.shape),
                "old_ms": timed["old_many"],
                "new_ms": timed["new_many"],
                "ratio": timed["old_many"] / timed["new_many"],
                "singly_ms": timed["new_singly"],
            }
        )
    fixed = {chunk: CcipMetric(session, 0.2, name="pair-mlp", version="1", chunk=chunk) for chunk in SWEEP}
    sweep = _median_ms({str(c): partial(m.differences_to, queries[0], references) for c, m in fixed.items()}, 3)
    return {"calibration_ms": calibration_ms, "cost": repr(metric.run_cost), "one": one, "many": many, "sweep": sweep}


def main() -> None:
    """Print the tables (or one JSON object)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    print(f"cost model {result['cost']}, measured in {result['calibration_ms']:.1f} ms (first call only)")
    for title, rows in (("one query", result["one"]), (f"{QUERIES} queries at once", result["many"])):
        print(f"\n{title}: old (255 per run) vs new (measured chunk), median ms")
        singly = f" {'new, one call each':>19}" if "singly_ms" in rows[0] else ""
        print(f"{'references':>10} {'chunk':>6} {'old ms':>9} {'new ms':>9} {'old/new':>8}{singly}")
        for row in rows:
            print(
                f"{row['references']:>10} {row['chunk']:>6} {row['old_ms']:>9.2f} {row['new_ms']:>9.2f}"
                f" {row['ratio']:>7.1f}x" + (f" {row['singly_ms']:>19.2f}" if singly else "")
            )
    print(f"\nlargest |new - old| difference: {max(row['max_abs_gap'] for row in result['one']):.2e}")
    print(f"\nfixed chunk sweep, one query against {max(COUNTS)} references, median ms")
    print("  ".join(f"{chunk}: {ms:.1f}" for chunk, ms in result["sweep"].items()))


if __name__ == "__main__":
    main()
