"""A distance fitted to the approved references: per-block whitening by the pooled within-character covariance.

Why: raw feature dimensions are not equally telling. Whitening a block with the within-character covariance
of the gallery's references makes each direction count in proportion to how stable it is within a character,
so what separates characters (hair colour on the head box, a hair-shape CNN channel) stands out and what
varies with pose, outfit or background is damped. The gallery's own approved data decides, and the metric
follows as moderators approve (issue 14):
- Sw = pooled within-character covariance; S = (1 - shrink) Sw + shrink (trace(Sw)/d) I; W = S^-1/2;
- a character's profile is W @ (mean of its references); a distance is |W q - profile| / scale, with the
  scale the RMS distance of references to OTHER characters' profiles, so every block reads about 1 for a
  wrong character whatever its dimension.
`BlockStats` keeps the sufficient statistics (per-character counts and sums, one d x d sum of outer
products), so adding or removing a reference is O(d^2) and never re-reads the store; `fit_block` turns them
into W and a scale (one eigendecomposition). With fewer than two characters having two or more references,
W is the identity: the plain (unwhitened) distance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

MIN_CHARACTERS_FOR_WHITENING = 2
"""Characters with >= 2 references needed before a within-character covariance means anything."""


GROWTH = 1.5
"""Row arrays grow by this factor when a new character needs a row (amortised O(1) appends)."""


PADDED_GROUP = 16
"""Runs up to this long are summed by adding their k-th rows for each k; longer ones one by one."""

ROW_STEP = 4096
"""Rows per step of the maths over many rows (a load's statistics, a fit): its float64 temporaries stay a few
MB and are reused step after step. Why: fresh pages are dear on the 2-core VM (about 2.5 ms per MB faulted in),
so one [500,000, 145] float64 temporary cost more than its arithmetic; stepping halved a 100k-character load's
statistics (2.1 s to 1.0 s) and the first fit (1.3 s to 0.4-0.6 s; benchmarks/README.md, gallery_load)."""


def row_steps(size: int, step: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering range(size), `step` (default ROW_STEP) rows each, the last shorter."""
    step = step or ROW_STEP
    for start in range(0, size, step):
        yield slice(start, min(size, start + step))


def run_steps(starts: np.ndarray, size: int, step: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """Steps of about `step` (default ROW_STEP) rows over runs that start at `starts` (ascending, the first 0) and
    cover range(size), each cut where a run starts: (first row, end row, first run, end run). A run longer than
    `step` is one step."""
    step = step or ROW_STEP
    low, first = 0, 0
    while low < size:
        last = int(np.searchsorted(starts, low + step)) if low + step < size else len(starts)
        high = int(starts[last]) if last < len(starts) else size
        yield low, high, first, last
        low, first = high, last


def grouped_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sum of each run values[start:end] (runs adjacent and in order), [runs, d].

    Why not `np.add.reduceat` or running sums: both pay per run along the long axis (16-26 ms for 20,000 x 145
    in runs of 5 here); adding the runs' k-th rows for k = 0, 1, ... costs 8 ms, one reshape 2 ms when all
    runs are equally long (a load's usual case). Runs longer than PADDED_GROUP are summed one by one.
    """
    sizes = ends - starts
    if len(sizes) and sizes.min() == sizes.max() and ends[-1] - starts[0] == len(values) and starts[0] == 0:
        return values.reshape(len(sizes), int(sizes[0]), -1).sum(axis=1)
    sums = np.zeros((len(starts), values.shape[1]), dtype=values.dtype)
    for offset in range(min(PADDED_GROUP, int(sizes.max(initial=0)))):
        runs = np.flatnonzero((sizes > offset) & (sizes <= PADDED_GROUP))
        sums[runs] += values[starts[runs] + offset]
    for run in np.flatnonzero(sizes > PADDED_GROUP).tolist():
        sums[run] = values[starts[run] : ends[run]].sum(axis=0)
    return sums


class BlockStats:
    """Incremental sufficient statistics of one block: per-row counts and sums, the total outer product.

    A row is a character's place in the gallery's arrays (`BlockIndex` hands them out). Counts and sums are
    contiguous arrays, so a fit and a ranking are matrix expressions, not loops over characters. References
    of a guild (not served to other guilds) are counted in `scoped` per guild as well as in the totals, so
    a ranking for a guild can add exactly what that guild may see to the public rows.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.public_counts = np.zeros(0, dtype=np.int64)
        self.public_sums = np.zeros((0, dim), dtype=np.float64)
        """Counts and sums of the references every guild may see (global ones), per row."""
        self.scoped: dict[int, dict[int, tuple[int, np.ndarray]]] = {}
        """guild -> row -> (count, sum) of that guild's own references."""
        self.outer = np.zeros((dim, dim), dtype=np.float64)
        self.shift: np.ndarray | None = None
        """Vectors are kept minus this fixed shift (the first vector seen), so the outer sums stay well conditioned."""

    def reserve(self, row: int) -> None:
        """Room for rows up to `row` (grown by GROWTH, so appends stay amortised O(1))."""
        if row < len(self.public_counts):
            return
        size = max(row + 1, int(len(self.public_counts) * GROWTH) + 8)
        counts = np.zeros(size, dtype=np.int64)
        sums = np.zeros((size, self.dim), dtype=np.float64)
        counts[: len(self.public_counts)] = self.public_counts
        sums[: len(self.public_sums)] = self.public_sums
        self.public_counts, self.public_sums = counts, sums

    def add(self, row: int, vector: np.ndarray, sign: int = 1, *, scope: int | None = None) -> None:
        """Add (sign=+1) or remove (sign=-1) one reference vector of the character in `row` (scope: its guild)."""
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.dim,):
            raise ValueError(f"expected a vector of {self.dim}, got {vector.shape}")
        if self.shift is None:
            self.shift = vector.copy()
        centred = vector - self.shift
        self.reserve(row)
        if scope is None:
            count = int(self.public_counts[row]) + sign
            if count < 0:
                raise ValueError(f"removing a reference that row {row} does not have")
            self.public_counts[row] = count
            self.public_sums[row] = self.public_sums[row] + sign * centred if count else 0.0
        else:
            parts = self.scoped.setdefault(scope, {})
            old_count, old_sum = parts.get(row, (0, np.zeros(self.dim)))
            if old_count + sign < 0:
                raise ValueError(f"removing a reference that row {row} does not have in guild {scope}")
            if old_count + sign == 0:
                parts.pop(row, None)
                if not parts:
                    del self.scoped[scope]
            else:
                parts[row] = (old_count + sign, old_sum + sign * centred)
        self.outer += sign * np.outer(centred, centred)

    def add_many(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        """Add many global references at once (a gallery's load): matrix products over steps of ROW_STEP vectors
        (cut between characters), not one product per vector, nor one float64 copy of them all."""
        rows = np.asarray(rows, dtype=np.int64)
        vectors = np.asarray(vectors).reshape(-1, self.dim)
        if not len(rows):
            return
        if self.shift is None:
            self.shift = np.array(vectors[0], dtype=np.float64)
        if np.any(rows[1:] < rows[:-1]):  # group each row's vectors (a load's usually are already)
            order = np.argsort(rows, kind="stable")
            rows, vectors = rows[order], vectors[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        ends = np.r_[starts[1:], len(rows)]
        self.reserve(int(rows[-1]))
        self.public_counts[rows[starts]] += ends - starts
        for low, high, first, last in run_steps(starts, len(rows)):
            centred = np.subtract(vectors[low:high], self.shift, dtype=np.float64)
            self.outer += centred.T @ centred
            runs = slice(first, last)
            self.public_sums[rows[starts[runs]]] += grouped_sums(centred, starts[runs] - low, ends[runs] - low)

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts and sums of every reference, all guilds together, per row (copies only when guilds have some)."""
        if not self.scoped:
            return self.public_counts, self.public_sums
        counts, sums = self.public_counts.copy(), self.public_sums.copy()
        for parts in self.scoped.values():
            for row, (count, total) in parts.items():
                counts[row] += count
                sums[row] += total
        return counts, sums

    @property
    def counts(self) -> dict[int, int]:
        """References per row that has any (all guilds); a dict for callers that look one up."""
        counts, _ = self.full()
        return {int(row): int(counts[row]) for row in np.flatnonzero(counts)}

    @property
    def total(self) -> int:
        """References counted."""
        counts, _ = self.full()
        return int(counts.sum())

    def copy(self) -> BlockStats:
        """An independent copy, for fitting in another thread while this one keeps counting."""
        copied = BlockStats(self.dim)
        copied.public_counts, copied.public_sums = self.public_counts.copy(), self.public_sums.copy()
        copied.scoped = {guild: dict(parts) for guild, parts in self.scoped.items()}  # (count, sum) are replaced
        copied.outer, copied.shift = self.outer.copy(), self.shift
        return copied

    def within_covariance(self) -> np.ndarray | None:
        """Pooled within-character covariance; None when too few characters have two or more references."""
        counts, sums = self.full()
        used = counts > 0
        if int(np.count_nonzero(counts >= 2)) < MIN_CHARACTERS_FOR_WHITENING:
            return None
        between = np.zeros_like(self.outer)
        for step in row_steps(used_rows(counts)):
            chosen = used[step]
            scaled = sums[step][chosen] / np.sqrt(counts[step][chosen])[:, None]
            between += scaled.T @ scaled
        scatter = self.outer - between
        return (scatter + scatter.T) / (2 * (int(counts.sum()) - int(np.count_nonzero(used))))


DEGENERATE_SPREAD = 1e-8
"""A within-character spread below this share of the block's whole spread is no spread (repeated pictures)."""


def whitening_matrix(
    within: np.ndarray | None, dim: int, shrink: float, *, total_level: float | None = None
) -> np.ndarray:
    """W = S^-1/2 with S = (1 - shrink) Sw + shrink (tr(Sw)/d) I; the identity when Sw is unknown or (next to) zero.

    `total_level` is the block's mean second moment per dim: a within spread that small against it would blow
    W up by orders of magnitude (and float32 distances with it), so it counts as no spread.
    """
    if within is None:
        return np.eye(dim)
    level = float(np.trace(within)) / dim
    if level <= 0 or (total_level is not None and level <= DEGENERATE_SPREAD * total_level):
        return np.eye(dim)
    shrunk = (1 - shrink) * within + shrink * level * np.eye(dim)
    values, vectors = np.linalg.eigh(shrunk)
    values = np.maximum(values, 1e-12 * level)
    return (vectors * values**-0.5) @ vectors.T


@dataclass(frozen=True, eq=False)
class FittedBlock:
    """One block's fitted metric: the whitening W, the distance scale, and whether W is more than the identity."""

    whitening: np.ndarray
    scale: float
    whitened: bool
    calibrated: bool = True
    """Whether `scale` was measured against other characters (two or more); else it is 1 and distances are raw."""

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Rows (or one vector) in whitened space."""
        return np.asarray(vectors, dtype=np.float64) @ self.whitening.T

    def distances(self, query: np.ndarray, profiles: np.ndarray) -> np.ndarray:
        """Scaled distances [C] of one query to whitened profiles [C, d]."""
        return np.linalg.norm(profiles - self.transform(query)[None, :], axis=1) / self.scale


def fit_block(stats: BlockStats, *, shrink: float) -> FittedBlock:
    """Whitening and scale of one block from its statistics alone (no reference is re-read)."""
    counts, _ = stats.full()
    total_level = float(np.trace(stats.outer)) / max(int(counts.sum()), 1) / stats.dim
    whitening = whitening_matrix(stats.within_covariance(), stats.dim, shrink, total_level=total_level)
    whitened = not np.allclose(whitening, np.eye(stats.dim))
    calibrated = int(np.count_nonzero(counts)) >= 2
    return FittedBlock(whitening, max(rms_scale(stats, whitening), 1e-12), whitened, calibrated)


def rms_scale(stats: BlockStats, whitening: np.ndarray) -> float:
    """sqrt of the mean over (reference, other character) of |W x - W m_c'|^2, from the statistics only.

    For one reference z = W x of character c: sum over every c' of |z - p_c'|^2 = C|z|^2 - 2 z.P + S2, with P the
    sum of the C profiles and S2 the sum of their squared norms; the c' = c term is subtracted per character.
    Summed over references that is sums over the rows, taken ROW_STEP rows at a time: no loop over characters,
    no temporary of every row.
    """
    counts, sums = stats.full()
    count = int(np.count_nonzero(counts))
    if count < 2 or stats.shift is None:
        return 1.0
    profile_sum = np.zeros(stats.dim)  # P
    whitened_total = np.zeros(stats.dim)  # sum over characters of W (sum of their references)
    own, squares_total, weighted_squares = 0.0, 0.0, 0.0  # sum of z.p_c (by character), S2, sum of n |p_c|^2
    for step in row_steps(used_rows(counts)):
        n = counts[step].astype(np.float64)
        used = n > 0
        n = n[used]
        whitened_sums = sums[step][used] @ whitening.T  # in the shifted frame; distances do not depend on it
        profiles = whitened_sums / n[:, None]
        squared = np.einsum("ij,ij->i", profiles, profiles)
        profile_sum += profiles.sum(axis=0)
        whitened_total += whitened_sums.sum(axis=0)
        own += float(np.einsum("ij,ij->", whitened_sums, profiles))
        squares_total += float(squared.sum())
        weighted_squares += float(n @ squared)
    every_ref = float(np.sum((whitening.T @ whitening) * stats.outer))  # sum over refs of |W x~|^2
    references = float(counts.sum())
    total = (count - 1) * every_ref
    total += -2 * (float(whitened_total @ profile_sum) - own)
    total += references * squares_total - weighted_squares
    pairs = references * (count - 1)
    return float(np.sqrt(max(total, 0.0) / pairs))


def used_rows(counts: np.ndarray) -> int:
    """Rows up to the last one in use: the room reserved after it is never read (nor faulted in)."""
    used = np.flatnonzero(counts)
    return int(used[-1]) + 1 if len(used) else 0
