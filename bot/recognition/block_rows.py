"""The maths on a block's row arrays, kept apart from the index that owns them: pure functions, any thread.

`profile_rows` whitens every row's public mean in one product (a refit); `block_distances` is one query's
scaled distance to every row (a ranking), with a guild's own references joined to their characters' rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bot.recognition.metric import BlockStats, FittedBlock, row_steps, used_rows


@dataclass(frozen=True, eq=False)
class Refit:
    """A fit and the whitened profile rows it gives, made in a thread from the statistics of `generation`."""

    generation: int
    fitted: dict[str, FittedBlock]
    rows: dict[str, tuple[np.ndarray, np.ndarray]]


def profile_rows(stats: BlockStats, block: FittedBlock) -> tuple[np.ndarray, np.ndarray]:
    """Whitened profiles W (sum/count) of every row's public references [R, d] (float32) and their squared norms.

    Made ROW_STEP rows at a time into zeroed arrays (a row without references stays zero), so no float64 copy of
    every row exists and the room reserved after the last used row is never touched.
    """
    counts = stats.public_counts
    profiles = np.zeros(stats.public_sums.shape, dtype=np.float32)
    squares = np.zeros(len(counts), dtype=np.float32)
    for step in row_steps(used_rows(counts)):
        means = stats.public_sums[step] / np.maximum(counts[step], 1)[:, None]
        chunk = (means @ block.whitening.T).astype(np.float32)
        chunk[counts[step] == 0] = 0.0
        profiles[step] = chunk
        squares[step] = np.einsum("ij,ij->i", chunk, chunk)
    return profiles, squares


def live_copy(stats: BlockStats) -> BlockStats:
    """The statistics with their big row arrays shared (read live by the refit thread) and the rest copied."""
    copied = BlockStats(stats.dim)
    copied.public_counts, copied.public_sums = stats.public_counts, stats.public_sums
    copied.scoped = {guild: dict(parts) for guild, parts in stats.scoped.items()}
    copied.outer, copied.shift = stats.outer.copy(), stats.shift
    return copied


def block_distances(
    block: FittedBlock,
    counts: np.ndarray,
    sums: np.ndarray,
    shift: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    parts: Mapping[int, tuple[int, np.ndarray]],
    vector: np.ndarray,
    size: int,
) -> np.ndarray:
    """Scaled distances [size] of a query to every row's profile (NaN: no visible reference in this block)."""
    profiles, squares = rows
    query = (block.whitening @ (vector - shift)).astype(np.float32)
    out = np.full(size, np.nan)
    used = min(len(profiles), size)
    squared = squares[:used] - 2 * (profiles[:used] @ query) + float(query @ query)
    distance = np.sqrt(np.maximum(squared, 0.0)) / block.scale
    present = counts[:used] > 0
    out[:used][present] = distance[present]
    if parts:  # the guild's own references join the public ones of the same character, for this guild only
        own = np.fromiter(parts, dtype=np.int64, count=len(parts))
        extra = np.fromiter((count for count, _ in parts.values()), dtype=np.float64, count=len(parts))
        totals = np.stack([total for _, total in parts.values()])
        means = (sums[own] + totals) / (counts[own] + extra)[:, None]
        kept = own < size
        out[own[kept]] = np.linalg.norm(means[kept] @ block.whitening.T - query, axis=1) / block.scale
    return out


def grown(array: np.ndarray, size: int) -> np.ndarray:
    """A copy of `array` with `size` rows, the new ones zero."""
    grown = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
