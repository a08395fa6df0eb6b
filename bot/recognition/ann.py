"""An approximate nearest-neighbour shortlist of reference embeddings (usearch HNSW, cosine), when it is installed.

Why: exact search over a million 768-d embeddings is memory-bound (about 135 ms a query in float32 here),
and the CCIP metric is a model, so it cannot be indexed itself. The shortlist is built on the L2-normalised
features (cosine) and only proposes rows; the exact metric re-ranks every row of the proposed characters
(bot/recognition/embedding_index.py). Its recall on the real CCIP model is unmeasured here (see README).

usearch is the optional `scale` extra; without it `load_usearch` says so once and the gallery searches exactly.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
_warned = False

CONNECTIVITY = 16
"""HNSW graph degree (usearch's default)."""
EXPANSION_ADD = 64
"""Candidates kept while inserting (usearch's default is 128; 64 builds about twice as fast here)."""
DTYPE = "i8"
"""Stored scalar of the graph's vectors: unit vectors quantised to int8 (a quarter of float32's memory, and
about 4x faster to build than f32 here); only proposals come from it, the exact metric decides."""
EXPANSION_SEARCH = 512
"""Candidates kept while searching (at least the rows asked for); recall@10 followed it, not the rows asked for.
Measured with 64 rows (benchmarks/embedding_scale.py, two 500k builds): 256 gave 0.998 and 0.983 (HNSW builds
on several threads differ), 512 gave 1.0 and 0.998 at 9.8 and 19.9 ms p50; at 1M rows 256 / 512 / 1024 gave
0.96 / 0.979 / 0.99 at 7.0 / 12.0 / 22.3 ms: no setting met both 10 ms and 0.99 on that graph (connectivity 16)."""
ADD_CHUNK = 16
"""Rows inserted per hold of the graph's lock once it serves searches (about 0.5 ms a row at 200,000 rows)."""
BUILD_CHUNK = 65_536
"""Rows per call while building (all cores each): the gathered, normalised copy of a chunk is 200 MB at 768-d,
where one call over 1M rows held two 3 GB copies at once."""


def load_usearch() -> Any | None:
    """usearch's `Index` class, or None (logged once) when the `scale` extra is not installed."""
    global _warned
    try:
        from usearch.index import Index
    except ImportError:
        if not _warned:
            _warned = True
            log.info("usearch is not installed (extra `scale`): large galleries are searched exactly")
        return None
    return Index


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32: cosine on them is a dot product."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class AnnShortlist:
    """An HNSW index over embedding rows keyed by slot (a row's number for its whole life in the gallery).

    Only the feeder thread (bot/recognition/ann_feeder.py) writes it and only ranking threads search it, so
    the event loop never waits on its lock; writes hold the lock ADD_CHUNK rows at a time, so a search waits
    for a few milliseconds at most (longer only while usearch grows its capacity, about once per doubling).
    """

    def __init__(self, index_class: Any, dim: int, *, threads: int = 0) -> None:
        self._index = index_class(
            ndim=dim,
            metric="cos",
            dtype=DTYPE,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self._threads = threads
        self._lock = threading.Lock()
        self.indexed = 0
        """Slots below this were handed to the graph (or were dead by then); newer rows are scored exactly."""

    def __len__(self) -> int:
        return len(self._index)

    @property
    def expansion_search(self) -> int:
        """Candidates kept while searching (at least the rows asked for); settable, for the benchmark's sweep."""
        return int(self._index.expansion_search)

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        with self._lock:
            self._index.expansion_search = value

    def add(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        """Index rows (their slots are new) in one hold of the lock; callers send ADD_CHUNK rows at a time."""
        if len(slots):
            keys = np.asarray(slots, dtype=np.uint64)
            unit = normalised(vectors)
            with self._lock:
                self._index.add(keys, unit, threads=self._threads)

    def remove(self, slots: np.ndarray) -> None:
        """Forget rows (tombstoned in the gallery); slots never indexed are ignored."""
        if len(slots):
            with self._lock:
                self._index.remove(np.asarray(slots, dtype=np.uint64))

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """Slots of about `count` rows closest to the query by cosine, closest first."""
        unit = normalised(query).reshape(-1)
        with self._lock:
            if not len(self._index):
                return np.zeros(0, dtype=np.int64)
            found = self._index.search(unit, min(count, len(self._index)), threads=1)
        return np.asarray(found.keys, dtype=np.int64)
