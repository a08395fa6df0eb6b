"""Candidates closest first, ordered only as far as they are read: top-k by argpartition, not a full sort.

Why: a ranking of 100,000 characters shows three; sorting all of them (and building a result object per
character) would cost more than the distances. `OrderedCandidates` keeps the arrays and builds a
`RankedCharacter` for an index when it is read, ordering a prefix that grows as needed. The order is the
stable sort's (ties keep input order), so it equals `np.argsort(distances, kind="stable")` wherever read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload

import numpy as np

FIRST_PREFIX = 16
"""Candidates ordered at the first read; each further read beyond them quadruples the prefix."""


def stable_top(distances: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest distances in stable-sort order (ties by index), without sorting the rest."""
    count = len(distances)
    if k >= count:
        return np.argsort(distances, kind="stable")
    threshold = np.partition(distances, k - 1)[k - 1]
    below = np.flatnonzero(distances < threshold)
    tied = np.flatnonzero(distances == threshold)[: k - len(below)]
    chosen = np.concatenate([below, tied])
    return chosen[np.lexsort((chosen, distances[chosen]))]


class OrderedCandidates(Sequence):
    """A read-only sequence of ranked candidates over distance arrays; `make(i)` builds the i-th input's result."""

    def __init__(self, distances: np.ndarray, make: Callable[[int], object]) -> None:
        self.distances = np.asarray(distances, dtype=np.float64)
        self._make = make
        self._order = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.distances)

    def _ordered(self, needed: int) -> np.ndarray:
        if needed > len(self._order):
            size = max(needed, FIRST_PREFIX, 4 * len(self._order))
            self._order = stable_top(self.distances, min(size, len(self.distances)))
        return self._order

    @overload
    def __getitem__(self, index: int) -> object: ...

    @overload
    def __getitem__(self, index: slice) -> list: ...

    def __getitem__(self, index: int | slice):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            order = self._ordered(stop)
            return [self._make(int(order[i])) for i in range(start, stop, step)]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._make(int(self._ordered(index + 1)[index]))

    def __iter__(self) -> Iterator:
        order = self._ordered(len(self))
        return (self._make(int(i)) for i in order)

    def position(self, input_index: int) -> int:
        """1-based place of one input in the order, counted without sorting: closer ones, then earlier ties."""
        own = self.distances[input_index]
        closer = int(np.count_nonzero(self.distances < own))
        return closer + int(np.count_nonzero(self.distances[:input_index] == own)) + 1


def index_of(characters: Sequence, character_id: int) -> int | None:
    """Where a character sits in a ranking's input (by the ids array of a lazy record list when it has one)."""
    ids = getattr(characters, "ids", None)
    if ids is not None:
        found = np.flatnonzero(ids == character_id)
        return int(found[0]) if len(found) else None
    return next((i for i, record in enumerate(characters) if record.id == character_id), None)
