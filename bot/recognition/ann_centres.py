"""A second shortlist keyed by character: each character's centre (the unit mean of her unit rows).

Why: the gallery ranks a character by the mean of her best 3 differences (bot/recognition/embedding.py), and
an inverted file over single rows misses characters whose several rows are all moderately close, none very
close: their lists are not probed. Over 1M rows (benchmarks/embedding_scale.py's gallery, prototype of
2026-12-02) rows alone gave recall@10 0.978 at 125 probes and 0.987 at 250; centres alone 0.96; the union of
the characters both propose 0.995 at 62 row probes and 55 centre probes, in 3.6 ms against 7.3 ms for 250
row probes. Rows still catch the one close look-alike that a centre averages away. A centre moves when a
character's references change; the feeder thread recomputes it from her live rows then.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.recognition.ann import BUILD_CHUNK, AnnShortlist, list_count, normalised, training_sample

CENTRE_PROBED_SHARE = 32
"""A query scans the centres' lists of about 1/32 of the characters (55 of 1,789 at 200,000 characters)."""
GROUPS_CHUNK = 16_384
"""Characters whose rows are averaged per step of the build (bounds its float32 copy of rows)."""


def character_centres(owners: np.ndarray, vectors: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner ids, float16 unit centres) of the owners of these rows, each from her unit rows among them."""
    order = rows[np.argsort(owners[rows], kind="stable")]
    grouped = owners[order]
    if not len(order):
        return np.zeros(0, dtype=np.int64), np.zeros((0, vectors.shape[1]), dtype=np.float16)
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    ends = np.r_[starts[1:], len(order)]
    centres = np.empty((len(starts), vectors.shape[1]), dtype=np.float16)
    for first in range(0, len(starts), GROUPS_CHUNK):
        last = min(len(starts), first + GROUPS_CHUNK)
        low, high = starts[first], ends[last - 1]
        sums = np.add.reduceat(normalised(vectors[order[low:high]]), starts[first:last] - low, axis=0)
        centres[first:last] = normalised(sums)
    return grouped[starts].astype(np.int64), centres


def build_centres(faiss: Any, owners: np.ndarray, vectors: np.ndarray, rows: np.ndarray) -> AnnShortlist:
    """The centres' shortlist over the owners of these rows (trained on a sample of the centres, then filled)."""
    ids, centres = character_centres(owners, vectors, rows)
    shortlist = AnnShortlist(faiss, vectors.shape[1], len(ids), share=CENTRE_PROBED_SHARE)
    shortlist.train(centres, training_sample(np.arange(len(ids)), list_count(len(ids))))
    for start in range(0, len(ids), BUILD_CHUNK):
        shortlist.add(ids[start : start + BUILD_CHUNK], centres[start : start + BUILD_CHUNK])
    return shortlist


def refresh_centres(shortlist: AnnShortlist, touched: dict[int, np.ndarray], vectors: np.ndarray) -> None:
    """Move the centres of these owners to their live rows now (owner -> rows; no rows: she leaves)."""
    if not touched:
        return
    owners = np.fromiter(touched, dtype=np.int64, count=len(touched))
    shortlist.remove(owners)
    kept = [owner for owner in owners.tolist() if len(touched[owner])]
    if kept:
        centres = np.stack([normalised(normalised(vectors[touched[owner]]).sum(axis=0)) for owner in kept])
        shortlist.add(np.asarray(kept, dtype=np.int64), centres)
