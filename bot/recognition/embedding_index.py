"""The gallery's reference embeddings in one contiguous float32 array, changed in place, read through a mask.

Why: restacking every embedding after each approval costs seconds at 500,000 references, and copying a
guild's visible rows per query costs more than the query. Rows are appended on approval and tombstoned on
removal (compacted when the dead outnumber the living); a query takes a visibility mask, not a copy. The
arrays a snapshot holds are never written behind it: appends land past its rows, and compaction and growth
build new arrays. Above `ann_min_rows` live rows an HNSW shortlist (bot/recognition/ann.py, built in a
thread) proposes characters and the exact metric re-ranks all of their visible rows.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from bot.recognition.ann import AnnShortlist, load_usearch

log = logging.getLogger(__name__)
EVERY_GUILD = -1
"""The scope of a row every guild may see (a global character's global reference)."""
ANN_MIN_ROWS = 50_000
"""Live rows from which the shortlist is used (benchmarks/embedding_scale.py: exact search of 768-d rows takes
18.5 ms p50 at 50,000 on this machine's two shared cores, near the 20 ms goal; the shortlist 5 ms)."""
SHORTLIST_ROWS = 256
"""Rows the shortlist proposes; every visible row of their characters is then scored exactly."""
COMPACT_MIN = 4096
"""Dead rows below which no compaction runs."""
_NO_LOCK = contextlib.nullcontext()


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
        """Visible rows of the characters the shortlist proposes, or None when it proposes too few of them."""
        if self.ann is None:
            return None
        slots = self.ann.search(query, self.shortlist)
        slots = slots[slots < len(self.row_of_slot)]
        rows = self.row_of_slot[slots]
        rows = rows[(rows >= 0) & (rows < len(self.mask))]
        owners = np.unique(self.owners[rows[self.mask[rows]]])
        if len(owners) < needed:
            return None
        listed = [slot for owner in owners.tolist() for slot in list(self.slots_of.get(owner, ()))]
        slots = np.asarray(listed, dtype=np.int64)
        rows = self.row_of_slot[slots[slots < len(self.row_of_slot)]]
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
            picked = vectors if rows is None else vectors[rows]
            found = metric.differences_to(query, picked) if len(picked) else np.zeros(0)
            scored.append((np.asarray(found, dtype=np.float64), owners))
        return np.concatenate([d for d, _ in scored]), np.concatenate([o for _, o in scored])


class EmbeddingIndex:
    """Reference embeddings with owner (character) and scope arrays, keyed by reference id."""

    def __init__(self, *, ann_min_rows: int | None = ANN_MIN_ROWS, shortlist: int = SHORTLIST_ROWS) -> None:
        self.ann_min_rows = ann_min_rows
        self.shortlist = shortlist
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._owners = np.zeros(0, dtype=np.int64)
        self._own_scopes = np.zeros(0, dtype=np.int64)
        """Each row's reference scope (EVERY_GUILD: global)."""
        self._scopes = np.zeros(0, dtype=np.int64)
        """Who may see each row: its character's guild, else its reference's."""
        self._alive = np.zeros(0, dtype=bool)
        self._slots = np.zeros(0, dtype=np.int64)
        self._row_of_slot = np.zeros(0, dtype=np.int64)
        self._size = 0
        self._next_slot = 0
        self._dead = 0
        self._slot_of: dict[int, int] = {}
        self._slots_of: dict[int, list[int]] = {}
        self._ann: AnnShortlist | None = None
        self._building: threading.Thread | None = None
        self._batching = False
        self._sync = threading.Lock()
        """Held by every change, so a finished shortlist build catches up with none in between."""

    def __len__(self) -> int:
        return len(self._slot_of)

    def add(self, reference_id: int, owner: int, character_scope: int | None, scope: int | None, vector) -> None:
        """Append one reference's row (replacing its earlier row, if any)."""
        with self._sync:
            self._remove(reference_id)
            self._add(reference_id, owner, character_scope, scope, vector)
        if not self._batching:
            self._build_when_due()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many adds (a load): the shortlist is built once after them, not grown row by row."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            self._build_when_due()

    def _build_when_due(self) -> None:
        if self._ann is None and self.ann_min_rows is not None and len(self) >= self.ann_min_rows:
            self._start_build()

    def remove(self, reference_id: int) -> None:
        """Tombstone one reference's row; compact once the dead outnumber the living."""
        with self._sync:
            self._remove(reference_id)

    def _add(self, reference_id: int, owner: int, character_scope: int | None, scope: int | None, vector) -> None:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if self._size == len(self._owners) or self._vectors.shape[1] != len(vector):
            self._grow(len(vector))
        row, slot = self._size, self._next_slot
        if slot == len(self._row_of_slot):
            self._row_of_slot = np.concatenate([self._row_of_slot, np.full(max(1024, slot), -1, dtype=np.int64)])
        own = EVERY_GUILD if scope is None else scope
        self._vectors[row], self._owners[row], self._own_scopes[row] = vector, owner, own
        self._scopes[row] = own if character_scope is None else character_scope
        self._alive[row], self._slots[row], self._row_of_slot[slot] = True, slot, row
        self._size, self._next_slot = row + 1, slot + 1
        self._slot_of[reference_id] = slot
        self._slots_of.setdefault(owner, []).append(slot)
        if self._ann is not None:
            self._ann.add(np.array([slot]), vector[None, :])

    def _remove(self, reference_id: int) -> None:
        slot = self._slot_of.pop(reference_id, None)
        if slot is None:
            return
        row = int(self._row_of_slot[slot])
        self._alive[row] = False
        slots = self._slots_of[int(self._owners[row])]
        slots.remove(slot)
        if not slots:
            del self._slots_of[int(self._owners[row])]
        if self._ann is not None:
            self._ann.remove(np.array([slot]))
        self._dead += 1
        if self._dead > max(COMPACT_MIN, len(self)):
            self._compact()

    def set_character_scope(self, owner: int, character_scope: int | None) -> None:
        """A character moved scope (promoted to global): its rows' visibility follows."""
        with self._sync:
            slots = self._slots_of.get(owner)
            if slots:
                rows = self._row_of_slot[np.asarray(slots)]
                self._scopes[rows] = self._own_scopes[rows] if character_scope is None else character_scope

    def view(self, guild_id: int | None) -> RowView:
        """The rows as they are now, with the guild's visibility mask (global rows, and the guild's own)."""
        size = self._size
        scopes = self._scopes[:size]
        mask = self._alive[:size] & ((scopes == EVERY_GUILD) | (scopes == guild_id if guild_id is not None else False))
        return RowView(
            self._vectors[:size],
            self._owners[:size],
            mask,
            self._row_of_slot[: self._next_slot],
            self._slots_of,
            self._ann,
            self.shortlist,
        )

    def wait_for_shortlist(self, timeout: float | None = None) -> bool:
        """Block until a shortlist being built is in use (benchmarks and tests); True when one is."""
        if self._building is not None:
            self._building.join(timeout)
        return self._ann is not None

    def _grow(self, dim: int) -> None:
        if self._vectors.shape[1] != dim and self._size:
            raise ValueError(f"embedding of {dim} dims, the index holds {self._vectors.shape[1]}")
        capacity = max(1024, 2 * len(self._owners))
        vectors = np.zeros((capacity, dim), dtype=np.float32)
        if self._size:
            vectors[: self._size] = self._vectors[: self._size]
        self._vectors = vectors
        for name in ("_owners", "_own_scopes", "_scopes", "_alive", "_slots"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def _compact(self) -> None:
        """Keep the living rows only, in new arrays (snapshots hold the old ones)."""
        kept = np.flatnonzero(self._alive[: self._size])
        capacity = max(1024, 2 * len(kept))
        for name in ("_vectors", "_owners", "_own_scopes", "_scopes", "_alive", "_slots"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: len(kept)] = old[kept]
            setattr(self, name, new)
        row_of_slot = np.full(len(self._row_of_slot), -1, dtype=np.int64)
        row_of_slot[self._slots[: len(kept)]] = np.arange(len(kept))
        self._row_of_slot, self._size, self._dead = row_of_slot, len(kept), 0

    def _start_build(self) -> None:
        index_class = load_usearch()
        if index_class is None:
            self.ann_min_rows = None  # logged once by load_usearch; exact search from now on
            return
        if self._building is not None:
            return
        alive = np.flatnonzero(self._alive[: self._size])
        slots, vectors = self._slots[alive].copy(), self._vectors  # rows below _size are never written again
        self._building = threading.Thread(
            target=self._try_build, args=(index_class, slots, vectors, alive), daemon=True
        )
        self._building.start()

    def _try_build(self, *args) -> None:
        try:
            self._build(*args)
        except Exception:  # the gallery keeps searching exactly
            log.exception("building the embedding shortlist failed; searching exactly")

    def _build(self, index_class: Callable, slots: np.ndarray, vectors: np.ndarray, rows: np.ndarray) -> None:
        """In a thread: index the rows alive when the build began, catch up with later changes, then serve it."""
        ann = AnnShortlist(index_class, vectors.shape[1])
        ann.add(slots, vectors[rows])
        indexed = slots
        for last in (False, False, True):  # catch up outside the lock while changes keep coming, then under it
            with self._sync if last else _NO_LOCK:
                live = np.fromiter(list(self._slot_of.values()), dtype=np.int64)
                newer = np.setdiff1d(live, indexed, assume_unique=True)
                ann.add(newer, self._vectors[self._row_of_slot[newer]])
                ann.remove(np.setdiff1d(indexed, live, assume_unique=True))
                indexed = live
                if last:
                    self._ann = ann
