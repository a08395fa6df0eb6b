"""CCIP scores per character: best-k differences rank, the closest pair decides, and confidence follows the decision.

Why best-k ranks: a character's references differ in outfit, pose and artist, so the mean difference
punishes a character for her most unusual references; the single nearest reference lets one lucky
look-alike win. The mean of a character's k closest references asks "do several of her pictures look like
this one?". A character with fewer than k references is scored on what she has.

Why the closest pair decides "unknown": the threshold in the model's `metrics.json` (0.1785 for
ccip-caformer-24-randaug-pruned) was calibrated by deepghs for the difference of one pair of pictures, and
imgutils applies it to one pair (`ccip_same`, `ccip_batch_same`: difference <= threshold means the same
character). A mean of k differences is not a pair difference: it sits above the character's closest pair
whenever her other references look less alike, so comparing it with the pair threshold rejects queries the
model itself accepts (differences 0.12, 0.22, 0.25 average 0.197 > 0.178, while the 0.12 pair is the same
character by the model's rule). So the verdict asks the model's own question of each of the character's
references and keeps the closest: the query is hers when at least one pair passes. What this costs, and
was not re-measured here (no labelled pairs offline): a character with n references has n chances of a
false accept, so at a per-pair false-accept rate p the verdict's rate is at most 1 - (1 - p) ** n. The
confidence shown with a candidate comes from the same closest pair, so 50% sits exactly at the verdict.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

BEST_K = 3
"""References per character whose CCIP differences are averaged into the character's score."""


class EmbeddingMetric(Protocol):
    """What the gallery needs of an embedder: its identity, its calibrated threshold, and differences."""

    @property
    def identity(self) -> str:
        """`name@version` of the embedder whose vectors this metric compares."""
        ...

    threshold: float

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from one embedding to many, [M]; at or below `threshold` means the same character."""
        ...


def grouped_scores(
    differences: np.ndarray, owners: np.ndarray, k: int = BEST_K
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owners, best-k mean, closest difference) per owner, in owner order: one sort serves both rules."""
    differences = np.asarray(differences, dtype=np.float64).reshape(-1)
    owners = np.asarray(owners).reshape(-1)
    if not owners.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    # One sort groups the rows by owner, smallest difference first; a row's rank within its group
    # is its position minus where the group starts, so "best k" is a mask, not a loop over owners.
    order = np.lexsort((differences, owners))
    owners, differences = owners[order], differences[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    sizes = np.diff(np.r_[starts, owners.size])
    rank = np.arange(owners.size) - np.repeat(starts, sizes)
    best = rank < max(1, k)
    sums = np.add.reduceat(np.where(best, differences, 0.0), starts)
    counts = np.minimum(sizes, max(1, k))
    return owners[starts].astype(np.int64), sums / counts, differences[starts]


def best_k_scores(differences: np.ndarray, owners: np.ndarray, k: int = BEST_K) -> dict[int, float]:
    """Per owner (character id): the mean of its k smallest differences (all of them when it has fewer)."""
    ids, scores, _ = grouped_scores(differences, owners, k)
    return dict(zip(ids.tolist(), scores.tolist(), strict=True))


def closest_differences(differences: np.ndarray, owners: np.ndarray) -> dict[int, float]:
    """Per owner (character id): its smallest difference, the one pair the model's threshold is calibrated for."""
    ids, _, closest = grouped_scores(differences, owners, 1)
    return dict(zip(ids.tolist(), closest.tolist(), strict=True))


def difference_to_confidence(values: np.ndarray, threshold: float) -> np.ndarray:
    """Map CCIP scores to [0, 1]: 1 at 0, 0.5 at the model's threshold, towards 0 beyond."""
    ratio = np.maximum(np.asarray(values, dtype=np.float64), 0.0) / max(threshold, 1e-9)
    return (1.0 / (1.0 + np.square(ratio))).astype(np.float32)
