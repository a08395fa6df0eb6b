"""What one query reads of the gallery's embedding rows: a view cut to the rows then, and the parts it searches.

Why apart from the index (bot/recognition/embedding_index.py): a view is read in a ranking thread while the
index changes on the event loop, so it holds only arrays that are never written behind it and a copied mask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bot.recognition.ann import AnnShortlist
from bot.recognition.half_widening import widen_into

SHORTLIST_ROWS = 64
"""Rows the shortlist proposes; every visible row of their characters is then scored exactly. At 1M rows
(benchmarks/embedding_scale.py) recall@10 followed the lists probed only (64, 128 and 256 rows gave the same),
and 64 rows re-rank a quarter of 256's (the real metric is a model, each row costs)."""
WIDEST = 16
"""Times SHORTLIST_ROWS a shortlist widens to while it proposes too few characters; beyond, the search is exact."""


@dataclass(frozen=True, eq=False)
class RowView:
    """One index's rows as a query saw them: shared arrays cut to the rows then, and a copied visibility mask."""

    vectors: np.ndarray
    owners: np.ndarray
    mask: np.ndarray
    row_of_slot: np.ndarray
    slots_of: dict[int, list[int]]
    """Live owner -> slots map; read only for the shortlist's characters, cut to this view's slots and rows."""
    ann: AnnShortlist | None = None
    shortlist: int = SHORTLIST_ROWS

    def exact(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Every visible row (None: all rows are visible, nothing to index)."""
        return self.vectors, None if self.mask.all() else np.flatnonzero(self.mask)

    def proposed(self, query: np.ndarray, needed: int) -> np.ndarray | None:
        """Visible rows of the characters the shortlist proposes (by their rows and by their centres), or None
        when even its widest proposes too few.

        Rows the shortlist has not indexed yet (an approval the feeder thread has not reached) are proposed
        too, so a new reference ranks at once, without waiting for its add.
        """
        if self.ann is None:
            return None
        handed = len(self.row_of_slot)
        newer = np.arange(min(self.ann.indexed, handed), handed)  # read before the search: the rest is in it
        centres = self.ann.centres  # characters with several moderately close rows (bot/recognition/ann_centres.py)
        near = centres.search(query, self.shortlist) if centres is not None else np.zeros(0, dtype=np.int64)
        count = self.shortlist
        while True:  # characters with many references fill a shortlist with few owners: ask for more rows
            slots = self.ann.search(query, count)
            slots = np.concatenate([slots[slots < handed], newer])
            rows = self.row_of_slot[slots]
            rows = rows[(rows >= 0) & (rows < len(self.mask))]
            owners = np.union1d(self.owners[rows[self.mask[rows]]], near)
            if len(owners) >= needed or count >= min(len(self.ann), WIDEST * self.shortlist):
                break
            count *= 4
        if len(owners) < needed:
            return None
        listed = [slot for owner in owners.tolist() for slot in list(self.slots_of.get(owner, ()))]
        slots = np.asarray(listed, dtype=np.int64)
        rows = self.row_of_slot[slots[slots < handed]]
        rows = rows[(rows >= 0) & (rows < len(self.mask))]
        return np.sort(rows[self.mask[rows]])


@dataclass(frozen=True, eq=False)
class EmbeddingRows:
    """The embedding rows one query may meet: one view, or face rows first and whole rows for the faceless."""

    parts: tuple[RowView, ...]
    count: int
    """Visible rows (0: no model call)."""
    faces_first: bool = False
    """With two parts: whole-picture rows count only for characters with no visible face row."""
    approximate: bool = True
    """Whether a shortlist may propose the rows (False: exact search, as `whynot` needs every rank)."""

    def exact(self) -> EmbeddingRows:
        """The same rows, searched exactly."""
        return replace(self, approximate=False)

    def differences(self, metric, query: np.ndarray, needed: int) -> tuple[np.ndarray, np.ndarray]:
        """(differences, owners) of the rows scored: every visible row, or the shortlisted characters' rows."""
        scored: list[tuple[np.ndarray, np.ndarray]] = []
        for number, part in enumerate(self.parts):
            rows = part.proposed(query, needed) if self.approximate else None
            vectors, rows = (part.vectors, rows) if rows is not None else part.exact()
            owners = part.owners if rows is None else part.owners[rows]
            if number and self.faces_first and scored:
                kept = ~np.isin(owners, scored[0][1])
                rows = np.flatnonzero(kept) if rows is None else rows[kept]
                owners = owners[kept]
            found = widened_differences(metric, query, vectors, rows)
            scored.append((np.asarray(found, dtype=np.float64), owners))
        return np.concatenate([d for d, _ in scored]), np.concatenate([o for _, o in scored])


WIDEN_ROWS = 16_384
"""Rows widened from the held float16 to float32 per metric call (bounds the float32 copy an exact search makes)."""


def widened_differences(metric, query: np.ndarray, vectors: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """The metric's differences of the query to `vectors[rows]` (all of them when `rows` is None), held as float16
    (or float32), fed to the metric as float32 WIDEN_ROWS at a time through one reused buffer.

    Why one buffer: a fresh 48 MB float32 array per chunk cost the exact search's thread the kernel's zeroing of
    its pages and their unmapping (300k rows, `perf`: a sixth of that thread's samples; 2% with the buffer).
    Why rows per chunk: gathering every visible row first (a guild's exact search) copied them all at once
    (500k rows: 768 MB). The metric sees a private float32 array, as before; what it returns is copied out
    before the buffer is refilled. The widening itself is ONNX Runtime's Cast (bot/recognition/half_widening.py).
    """
    count = len(vectors) if rows is None else len(rows)
    if not count:
        return np.zeros(0)
    buffer = np.empty((min(count, WIDEN_ROWS), vectors.shape[1]), dtype=np.float32)
    parts = []
    for start in range(0, count, WIDEN_ROWS):
        chunk = vectors[start : start + WIDEN_ROWS] if rows is None else vectors[rows[start : start + WIDEN_ROWS]]
        widened = buffer[: len(chunk)]
        widen_into(widened, chunk)
        parts.append(np.array(metric.differences_to(query, widened)))
    return np.concatenate(parts)
