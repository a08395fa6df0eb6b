"""How many references one run of a pairwise metrics graph should carry, chosen from that graph's measured cost.

A CCIP metrics graph maps [N, d] to [N, N]: a run over q queries and c references computes (q + c)^2 pairs and
the caller keeps q * c of them. Every run also pays a fixed price (the session call, stacking the rows). So the
cost of q queries against M references is about ceil(M / c) * run(q + c), with run(n) = overhead + per_row * n +
per_pair * n^2: large chunks waste pairs, small ones pay the overhead again and again. The balance point depends
on the graph and on the provider (a GPU makes pairs nearly free, a CPU does not), so it is measured once per
session, never assumed. Only the rows fed change; a pairwise graph gives every entry the same value either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

MAX_ROWS = 256
"""Most rows in one run (queries plus references): the old feeding's size, so memory never grows past it."""
CALIBRATION_ROWS = (2, 8, 32)
"""Run sizes timed to fit the cost model: small, so measuring costs about as much as one old 256-row run."""
CALIBRATION_REPEATS = 3
SMALL_CALL = 8
"""At most this many references go in one run without measuring: the call is too small for the choice to matter."""


@dataclass(frozen=True)
class RunCost:
    """Seconds one metrics run takes for n rows: overhead + per_row * n + per_pair * n^2, each term >= 0."""

    overhead: float
    per_row: float
    per_pair: float

    def seconds(self, rows: np.ndarray) -> np.ndarray:
        """The modelled time of runs with `rows` rows each."""
        rows = np.asarray(rows, dtype=np.float64)
        return self.overhead + self.per_row * rows + self.per_pair * rows * rows


def measure_run_cost(
    run: Callable[[np.ndarray], object], dim: int, *, clock: Callable[[], float] = time.perf_counter
) -> RunCost:
    """Fit `RunCost` to the best of a few timed runs at each of `CALIBRATION_ROWS` (random [n, dim] stacks).

    The minimum of the repeats is kept because other load only ever adds time; a fitted term that comes out
    negative (noise) is taken as 0.
    """
    stack = np.random.default_rng(0).normal(size=(max(CALIBRATION_ROWS), dim)).astype(np.float32)
    run(stack[: CALIBRATION_ROWS[0]])  # the first run of a session allocates; it is not typical
    best = []
    for rows in CALIBRATION_ROWS:
        timings = []
        for _ in range(CALIBRATION_REPEATS):
            start = clock()
            run(stack[:rows])
            timings.append(clock() - start)
        best.append(min(timings))
    sizes = np.asarray(CALIBRATION_ROWS, dtype=np.float64)
    design = np.stack([np.ones_like(sizes), sizes, sizes * sizes], axis=1)
    overhead, per_row, per_pair = np.linalg.lstsq(design, np.asarray(best), rcond=None)[0]
    return RunCost(max(float(overhead), 0.0), max(float(per_row), 0.0), max(float(per_pair), 0.0))


def best_chunk(cost: RunCost, queries: int, references: int, *, max_rows: int = MAX_ROWS) -> int:
    """The references per run that make q queries against M references cheapest under `cost`.

    Every chunk size from 1 to the cap is priced exactly (full runs plus the remainder run), so ties and
    remainders need no formula; the cap keeps a run within `max_rows` rows.
    """
    limit = min(references, max_rows - queries)
    if limit <= 1:
        return 1
    chunks = np.arange(1, limit + 1)
    full, rest = np.divmod(references, chunks)
    total = full * cost.seconds(queries + chunks) + np.where(rest > 0, cost.seconds(queries + rest), 0.0)
    return int(chunks[np.argmin(total)])


def chunk_bounds(references: int, chunk: int) -> list[tuple[int, int]]:
    """[start, stop) of each run's references: as few runs as `chunk` allows, their sizes within one of each other.

    Even sizes cost no more than full runs plus a short last one, since a run's cost grows faster than its rows.
    """
    if references <= 0:
        return []
    runs = -(-references // max(1, chunk))
    return list(pairwise(references * part // runs for part in range(runs + 1)))
