"""Every indexed reference's tag vector and feature blocks as rows of growable float32 matrices, found by id.

Why: a gallery of 500,000 references cannot hold a Python object with its own small arrays per reference:
building them was most of a start-up (and each array's header cost more than its 145 floats). Here a load
appends whole matrices at once (`append`), an approval one row (`add`), a removal tombstones its row, and
the dead are compacted away once they outnumber the living. Whole-picture and face embeddings are not kept
here: the gallery's embedding indexes hold the only copy of them.

Readers may run in worker threads (a CCIP ranking's tag tie-break); one lock orders them with growth and
compaction, which build new arrays, so a reader never meets a half-moved row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.profile import CharacterProfile
from bot.store.records import CharacterRecord
from models.blocks import split_mirror

NO_GUILD = -1
"""The scope of a global reference."""
COMPACT_MIN = 4096
"""Dead rows below which no compaction runs."""

Column = tuple[np.ndarray, np.ndarray]
"""(indices of the batch's rows that hold a block, those rows' float32 vectors)."""


@dataclass
class CharacterEntry:
    """A character in the gallery: its record, which references it holds, and its cached tag profiles."""

    character: CharacterRecord
    references: dict[int, int | None] = field(default_factory=dict)
    """reference id -> the reference's guild (None: global); its vectors are rows of the gallery's table."""
    profiles: dict[int | None, CharacterProfile | None] = field(default_factory=dict)
    """Profile cache per querying guild (None: global references only)."""


class ReferenceTable:
    """Rows of references: id and scope arrays, and per block name a matrix with a mask of the rows holding it.

    Block names are as stored: the tag vector (vocabulary dims) under TAGS_BLOCK, a mirrored picture's blocks
    under their "mirror:" names (models/blocks.py), so `views` splits a row back into the metric's views.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._row_of: dict[int, int] = {}
        self._size = 0
        self._dead = 0
        self._largest = -1
        """No id above this was ever appended (removals leave it: it bounds, it does not count)."""
        self.ids = np.zeros(0, dtype=np.int64)
        self.owners = np.zeros(0, dtype=np.int64)
        self.scopes = np.zeros(0, dtype=np.int64)
        self._matrices: dict[str, np.ndarray] = {}
        self._present: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, reference_id: int) -> bool:
        return reference_id in self._row_of

    def held(self, reference_ids: np.ndarray) -> list[int]:
        """Which of these ids the table holds. A load's partitions come in ascending id, each past every id held
        so far, which one comparison tells (looking each up cost 0.2 s of a 500,000-reference start-up)."""
        if not len(reference_ids) or int(np.min(reference_ids)) > self._largest:
            return []
        return [i for i in reference_ids.tolist() if i in self._row_of]

    def append(self, ids: np.ndarray, owners: np.ndarray, scopes: np.ndarray, columns: Mapping[str, Column]) -> None:
        """Add a batch of new references (ids not yet held; their characters, scopes) with their blocks."""
        ids = np.asarray(ids, dtype=np.int64)
        count = len(ids)
        with self._lock:
            start = self._size
            self._reserve(start + count, {name: vectors.shape[1] for name, (_, vectors) in columns.items()})
            self.ids[start : start + count] = ids
            self.owners[start : start + count] = owners
            self.scopes[start : start + count] = scopes
            for name, (rows, vectors) in columns.items():
                self._matrices[name][start + rows] = vectors
                self._present[name][start + rows] = True
            self._size = start + count
            if count:
                self._largest = max(self._largest, int(ids.max()))
            self._row_of.update(zip(ids.tolist(), range(start, start + count), strict=True))

    def add(self, reference_id: int, owner: int, scope: int | None, blocks: Mapping[str, np.ndarray]) -> None:
        """Add (or replace) one reference's row."""
        self.remove(reference_id)
        one = np.zeros(1, dtype=np.int64)
        columns = {name: (one, np.asarray(vector, dtype=np.float32).reshape(1, -1)) for name, vector in blocks.items()}
        scopes = np.array([NO_GUILD if scope is None else scope])
        self.append(np.array([reference_id]), np.array([owner]), scopes, columns)

    def owner(self, reference_id: int) -> int | None:
        """The character a held reference belongs to, None when it is not held."""
        with self._lock:
            row = self._row_of.get(reference_id)
            return None if row is None else int(self.owners[row])

    def remove(self, reference_id: int) -> None:
        """Tombstone one reference's row (nothing when it is not held)."""
        with self._lock:
            row = self._row_of.pop(reference_id, None)
            if row is None:
                return
            for present in self._present.values():
                present[row] = False
            self._dead += 1
            if self._dead > max(COMPACT_MIN, len(self._row_of)):
                self._compact()

    def blocks_of(self, reference_id: int) -> dict[str, np.ndarray]:
        """One reference's blocks by stored name (copies), the tag vector among them as TAGS_BLOCK."""
        with self._lock:
            row = self._row_of[reference_id]
            return {name: matrix[row].copy() for name, matrix in self._matrices.items() if self._present[name][row]}

    def views(self, reference_id: int) -> list[dict[str, np.ndarray]]:
        """The views the reference counts with in the metric: its own blocks, then its mirrored picture's."""
        own, mirrored = split_mirror(self.blocks_of(reference_id))
        return [own, mirrored] if mirrored else [own]

    def tags(self, reference_ids: Iterable[int]) -> np.ndarray:
        """The tag vectors of these references (held ones), stacked [k, vocabulary]."""
        matrix, _ = self.column(TAGS_BLOCK, reference_ids)
        return matrix

    def column(self, name: str, reference_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(the block's vectors of those of these references that hold it, their positions in `reference_ids`)."""
        with self._lock:
            rows = np.fromiter((self._row_of.get(i, -1) for i in reference_ids), dtype=np.int64)
            matrix, present = self._matrices.get(name), self._present.get(name)
            if matrix is None or present is None:
                return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
            positions = np.flatnonzero(rows >= 0)
            positions = positions[present[rows[positions]]]
            return matrix[rows[positions]], positions

    def names(self) -> Sequence[str]:
        """The block names held by any row."""
        return tuple(self._matrices)

    def reserve(self, rows: int) -> None:
        """Room for `rows` more rows (and a quarter beyond) in every block, present and future."""
        with self._lock:
            self._reserve(self._size + rows, {})

    def _reserve(self, size: int, dims: Mapping[str, int]) -> None:
        """Room for `size` rows and for every block named; growth builds new arrays (under the lock)."""
        for name, dim in dims.items():
            matrix = self._matrices.get(name)
            if matrix is not None and matrix.shape[1] != dim:
                raise ValueError(f"block {name!r} has {dim} values, the gallery holds {matrix.shape[1]}")
        capacity = len(self.ids)
        if size > capacity:
            capacity = max(size + size // 4, 2 * capacity, 1024)  # a load leaves room for approvals
            self.ids, self.owners, self.scopes = (_grown(a, capacity, self._size) for a in self._keys())
            for name in self._matrices:
                self._matrices[name] = _grown(self._matrices[name], capacity, self._size)
                self._present[name] = _grown(self._present[name], capacity, self._size)
        for name, dim in dims.items():
            if name not in self._matrices:
                self._matrices[name] = np.zeros((capacity, dim), dtype=np.float32)
                self._present[name] = np.zeros(capacity, dtype=bool)

    def _keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ids, self.owners, self.scopes

    def _compact(self) -> None:
        """Keep the living rows only, in new arrays."""
        kept = np.fromiter(self._row_of.values(), dtype=np.int64)
        kept.sort()
        capacity = max(1024, 2 * len(kept))
        self.ids, self.owners, self.scopes = (_taken(a, kept, capacity) for a in self._keys())
        for name in self._matrices:
            self._matrices[name] = _taken(self._matrices[name], kept, capacity)
            self._present[name] = _taken(self._present[name], kept, capacity)
        self._size, self._dead = len(kept), 0
        self._row_of = dict(zip(self.ids[: len(kept)].tolist(), range(len(kept)), strict=True))


def _grown(array: np.ndarray, capacity: int, used: int) -> np.ndarray:
    new = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    new[:used] = array[:used]
    return new


def _taken(array: np.ndarray, rows: np.ndarray, capacity: int) -> np.ndarray:
    new = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    new[: len(rows)] = array[rows]
    return new
