"""An approximate nearest-neighbour shortlist of reference embeddings (faiss IVF, int8 codes), when it is installed.

Why: exact search over a million 768-d embeddings is memory-bound (about 135 ms a query in float32 here),
and the CCIP metric is a model, so it cannot be indexed itself. The shortlist is built on the L2-normalised
features (cosine) and only proposes rows; the exact metric re-ranks every row of the proposed characters
(bot/recognition/embedding_index.py). Its recall on the real CCIP model is unmeasured here (see README).

Why an inverted file and not a graph: on the benchmark's gallery (benchmarks/embedding_scale.py) a usearch HNSW
graph (connectivity 16) reached recall@10 0.96 at 7 ms and 0.99 only at 22 ms over 1M rows and took 16 minutes
to build on two cores; this inverted file over rows, with a second one over the characters' centres
(bot/recognition/ann_centres.py), reached 0.994-0.998 at 6-9 ms through the gallery's whole ranking and builds
in about 4 minutes. A query scans a fixed share of the rows (PROBED_SHARE), so its time grows with the gallery,
and recall does not fall.

faiss (faiss-cpu) is the optional `scale` extra; without it `load_faiss` says so once and the search is exact.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
_warned = False

LISTS_PER_ROOT = 4
"""Inverted lists per square root of the rows at the build (faiss's guidance is 4 to 16 sqrt(N)): 4,000 at 1M."""
ROWS_PER_LIST_MIN = 39
"""Training rows a list needs at least (faiss warns below 39), which bounds the lists of small galleries."""
TRAINING_ROWS_PER_LIST = 64
"""Rows sampled per list to train the coarse centroids and the int8 ranges (256,000 at 1M: about 140 s on two
cores and 790 MB while training; every row is then added)."""
PROBED_SHARE = 64
"""A query scans the lists of about 1/PROBED_SHARE of the rows (62 of 4,000 at 1M). Alone, rows reached recall@10
0.964-0.978 at 1/32 and 0.980-0.987 at 1/16 over 1M rows (benchmarks/embedding_scale.py; 64, 128 or 256 rows
proposed gave the same); with the characters' centres beside them (bot/recognition/ann_centres.py) 1/64 gave
0.995 in the prototype, half the scan of 1/32 (0.997)."""
MIN_PROBES = 8
"""Probes at least (small galleries have few lists: they are then scanned almost whole, which is cheap)."""
REBUILD_GROWTH = 4
"""The feeder rebuilds the lists once the index holds this many times the rows it was trained for (the lists
grow long and every query scans more), serving the old ones until the new are built."""
ADD_CHUNK = 256
"""Rows added per hold of the lock once it serves searches (an add assigns each row to its nearest list: about
0.1 ms a row at 4,000 lists)."""
BUILD_CHUNK = 65_536
"""Rows per call while building: the gathered, normalised copy of a chunk is 200 MB at 768-d."""
SEED = 0
"""The training sample's and k-means' seed: the same rows build the same lists."""


def load_faiss() -> Any | None:
    """The faiss module, or None (logged once) when the `scale` extra is not installed."""
    global _warned
    try:
        import faiss
    except ImportError:
        if not _warned:
            _warned = True
            log.info("faiss is not installed (extra `scale`): large galleries are searched exactly")
        return None
    return faiss


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32: cosine on them is a dot product."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def list_count(rows: int) -> int:
    """Inverted lists for a build over this many rows."""
    return max(1, min(round(LISTS_PER_ROOT * math.sqrt(rows)), rows // ROWS_PER_LIST_MIN))


class AnnShortlist:
    """An inverted file of embedding rows keyed by slot (a row's number for its whole life in the gallery).

    Only the feeder thread (bot/recognition/ann_feeder.py) writes it and only ranking threads search it, so
    the event loop never waits on its lock; writes hold the lock ADD_CHUNK rows at a time.
    """

    def __init__(self, faiss: Any, dim: int, rows: int, *, share: int | None = None) -> None:
        lists = list_count(rows)
        self._faiss = faiss
        self._quantizer = faiss.IndexFlatIP(dim)  # the index keeps no reference of its own: held here
        self._index = faiss.IndexIVFScalarQuantizer(
            self._quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        self._index.cp.seed = SEED
        self._index.nprobe = min(lists, max(MIN_PROBES, lists // (share or PROBED_SHARE)))
        self._lock = threading.Lock()
        self.trained_rows = rows
        """Rows the lists were made for; REBUILD_GROWTH times as many and the feeder makes new ones."""
        self.indexed = 0
        """Slots below this were handed to the index (or were dead by then); newer rows are scored exactly."""
        self.centres: AnnShortlist | None = None
        """The characters' centres, keyed by owner (bot/recognition/ann_centres.py), proposed beside the rows."""

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def lists(self) -> int:
        """Inverted lists the rows are filed in (fixed at the build)."""
        return int(self._index.nlist)

    @property
    def probes(self) -> int:
        """Lists scanned per query; settable, for the benchmark's sweep."""
        return int(self._index.nprobe)

    @probes.setter
    def probes(self, value: int) -> None:
        with self._lock:
            self._index.nprobe = max(1, min(int(value), self._index.nlist))

    def outgrown(self) -> bool:
        """Whether the lists hold so many more rows than they were made for that they should be rebuilt."""
        return len(self) > REBUILD_GROWTH * max(self.trained_rows, ROWS_PER_LIST_MIN)

    def train(self, vectors: np.ndarray, rows: np.ndarray) -> None:
        """Make the lists' centroids and the int8 ranges from these rows of `vectors` (before any add).

        The sample is normalised a chunk at a time into one float32 array: no float16 gather beside it.
        """
        unit = np.empty((len(rows), vectors.shape[1]), dtype=np.float32)
        for start in range(0, len(rows), BUILD_CHUNK):
            unit[start : start + BUILD_CHUNK] = normalised(vectors[rows[start : start + BUILD_CHUNK]])
        with self._lock:
            self._index.train(unit)

    def add(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        """Index rows (their slots are new) in one hold of the lock."""
        if len(slots):
            keys = np.asarray(slots, dtype=np.int64)
            unit = normalised(vectors)
            with self._lock:
                self._index.add_with_ids(unit, keys)

    def remove(self, slots: np.ndarray) -> None:
        """Forget rows (tombstoned in the gallery); slots never indexed are ignored."""
        if len(slots):
            chosen = self._faiss.IDSelectorBatch(np.asarray(slots, dtype=np.int64))
            with self._lock:
                self._index.remove_ids(chosen)

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """Slots of about `count` rows closest to the query by cosine, closest first."""
        unit = normalised(query).reshape(1, -1)
        with self._lock:
            if not self._index.ntotal:
                return np.zeros(0, dtype=np.int64)
            _, found = self._index.search(unit, min(count, int(self._index.ntotal)))
        found = found[0]
        return found[found >= 0].astype(np.int64)


def training_sample(rows: np.ndarray, lists: int) -> np.ndarray:
    """Which of these rows train `lists` lists: TRAINING_ROWS_PER_LIST a list, drawn with a fixed seed, in order."""
    wanted = lists * TRAINING_ROWS_PER_LIST
    if len(rows) <= wanted:
        return rows
    chosen = np.random.default_rng(SEED).choice(len(rows), wanted, replace=False)
    return rows[np.sort(chosen)]
