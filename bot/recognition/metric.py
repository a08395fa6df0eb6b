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

from dataclasses import dataclass, field

import numpy as np

MIN_CHARACTERS_FOR_WHITENING = 2
"""Characters with >= 2 references needed before a within-character covariance means anything."""


@dataclass
class BlockStats:
    """Incremental sufficient statistics of one block: per-character counts and sums, the total outer product."""

    dim: int
    counts: dict[int, int] = field(default_factory=dict)
    sums: dict[int, np.ndarray] = field(default_factory=dict)
    outer: np.ndarray = field(init=False)
    shift: np.ndarray | None = None
    """Vectors are kept minus this fixed shift (the first vector seen), so the outer sums stay well conditioned."""

    def __post_init__(self) -> None:
        self.outer = np.zeros((self.dim, self.dim), dtype=np.float64)

    def add(self, character: int, vector: np.ndarray, sign: int = 1) -> None:
        """Add (sign=+1) or remove (sign=-1) one reference vector of a character."""
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.dim,):
            raise ValueError(f"expected a vector of {self.dim}, got {vector.shape}")
        if self.shift is None:
            self.shift = vector.copy()
        centred = vector - self.shift
        count = self.counts.get(character, 0) + sign
        if count < 0:
            raise ValueError(f"removing a reference that character {character} does not have")
        if count == 0:
            self.counts.pop(character, None)
            self.sums.pop(character, None)
        else:
            self.counts[character] = count
            self.sums[character] = self.sums.get(character, np.zeros(self.dim)) + sign * centred
        self.outer += sign * np.outer(centred, centred)

    def copy(self) -> BlockStats:
        """An independent copy, for fitting in another thread while this one keeps counting."""
        copied = BlockStats(
            self.dim, dict(self.counts), dict(self.sums), shift=self.shift
        )  # sums are replaced, never edited
        copied.outer = self.outer.copy()
        return copied

    @property
    def total(self) -> int:
        """References counted."""
        return sum(self.counts.values())

    def within_covariance(self) -> np.ndarray | None:
        """Pooled within-character covariance; None when too few characters have two or more references."""
        if sum(1 for n in self.counts.values() if n >= 2) < MIN_CHARACTERS_FOR_WHITENING:
            return None
        scatter = self.outer.copy()
        for character, count in self.counts.items():
            total = self.sums[character]
            scatter -= np.outer(total, total) / count
        return (scatter + scatter.T) / (2 * (self.total - len(self.counts)))


def whitening_matrix(within: np.ndarray | None, dim: int, shrink: float) -> np.ndarray:
    """W = S^-1/2 with S = (1 - shrink) Sw + shrink (tr(Sw)/d) I; the identity when Sw is unknown or zero."""
    if within is None:
        return np.eye(dim)
    level = float(np.trace(within)) / dim
    if level <= 0:
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
    whitening = whitening_matrix(stats.within_covariance(), stats.dim, shrink)
    whitened = not np.allclose(whitening, np.eye(stats.dim))
    calibrated = len(stats.counts) >= 2
    return FittedBlock(whitening, max(rms_scale(stats, whitening), 1e-12), whitened, calibrated)


def rms_scale(stats: BlockStats, whitening: np.ndarray) -> float:
    """sqrt of the mean over (reference, other character) of |W x - W m_c'|^2, from the statistics only."""
    characters = list(stats.counts)
    if len(characters) < 2 or stats.shift is None:
        return 1.0
    means = np.stack([stats.sums[c] / stats.counts[c] for c in characters])  # in the shifted frame
    profiles = means @ whitening.T
    squared = np.square(profiles).sum(axis=1)
    every_ref = float(np.sum((whitening.T @ whitening) * stats.outer))  # sum over refs of |W x~|^2
    count = len(characters)
    total = (count - 1) * every_ref
    pairs = 0
    profile_sum = profiles.sum(axis=0)
    for i, character in enumerate(characters):
        n = stats.counts[character]
        sum_z = whitening @ stats.sums[character]
        total += -2 * float(sum_z @ (profile_sum - profiles[i])) + n * float(squared.sum() - squared[i])
        pairs += n * (count - 1)
    return float(np.sqrt(max(total, 0.0) / pairs))
