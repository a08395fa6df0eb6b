"""The gallery's reference embeddings in one contiguous array, changed in place, read through a mask.

Why: restacking every embedding after each approval costs seconds at 500,000 references, and copying a
guild's visible rows per query costs more than the query. Rows are appended on approval and tombstoned on
removal (compacted when the dead outnumber the living); a query takes a visibility mask, not a copy. The
arrays a snapshot holds are never written behind it: appends land past its rows, and compaction and growth
build new arrays. Above `ann_min_rows` live rows an inverted-file shortlist (bot/recognition/ann.py)
proposes characters and the exact metric re-ranks all of their visible rows; it is built and kept in step by
its own thread (bot/recognition/ann_feeder.py), so a change on the event loop costs microseconds, and rows
the shortlist has not reached yet are scored exactly by every query.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import numpy as np

from bot.recognition.ann import AnnShortlist, load_faiss
from bot.recognition.ann_feeder import ShortlistFeeder
from bot.recognition.embedding_rows import SHORTLIST_ROWS, EmbeddingRows, RowView

__all__ = ["ANN_MIN_ROWS", "EVERY_GUILD", "EmbeddingIndex", "EmbeddingRows", "RowView"]
"""EmbeddingRows and RowView live in embedding_rows.py and are re-exported for the gallery's imports."""
log = logging.getLogger(__name__)
EVERY_GUILD = -1
"""The scope of a row every guild may see (a global character's global reference)."""
ANN_MIN_ROWS = 50_000
"""Live rows from which the shortlist is used (benchmarks/embedding_scale.py: exact search of 768-d rows takes
18.5 ms p50 at 50,000 on this machine's two shared cores, near the 20 ms goal; the shortlist 5 ms)."""
HELD_DTYPE = np.float16
"""How a large index holds its rows (from `ann_min_rows`, where the shortlist serves queries): the store keeps
embeddings as float16 (bot/store/vectors.py), so holding them so loses nothing and halves the largest array
(500,000 x 768: 768 MB, not 1.5 GB). Only the shortlisted rows are widened to float32 for the metric then; an
exact search widens all of them (500,000 rows: 850 ms against 295 ms in float32, benchmarks/embedding_scale.py),
so a smaller index, searched exactly, stays float32. A vector beyond float16's range keeps float32 for good."""
HALF_LIMIT = float(np.finfo(np.float16).max)
COMPACT_MIN = 4096
"""Dead rows below which no compaction runs."""
GROWTH_HEADROOM = 8
"""A bulk load leaves room for 1/8 more rows: the approvals after it append without copying every row (a copy
of 100,000 768-d rows took 110 ms on the loop; of 1M, seconds).
"""
MASKS_KEPT = 16
"""Guilds whose visibility mask is kept between changes (one byte a row each)."""


class EmbeddingIndex:
    """Reference embeddings with owner (character) and scope arrays, keyed by reference id."""

    def __init__(self, *, ann_min_rows: int | None = ANN_MIN_ROWS, shortlist: int = SHORTLIST_ROWS) -> None:
        self.ann_min_rows = ann_min_rows
        self.shortlist = shortlist
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._full = False
        """True once a vector beyond float16's range came: float32 for good."""
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
        self._feeder: ShortlistFeeder | None = None
        self._batching = False
        self._sync = threading.Lock()
        """Held by every change and by the feeder while it reads the arrays, so it reads a consistent set."""
        self._masks: dict[int | None, tuple[int, np.ndarray]] = {}
        """Guild -> (change count, visibility mask): a query after no change reuses the mask (read-only)."""
        self._changes = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, reference_id: int) -> bool:
        return reference_id in self._slot_of

    def add(self, reference_id: int, owner: int, character_scope: int | None, scope: int | None, vector) -> None:
        """Append one reference's row (replacing its earlier row, if any): scalar writes, about 10 us."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        with self._sync:
            self._remove(reference_id)
            self._hold(vector)
            self._settle(self._size + 1)
            if self._size == len(self._owners) or self._vectors.shape[1] != len(vector):
                self._grow(len(vector), self._size + 1)
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
            self._changed()
        if not self._batching:
            self._build_when_due()

    def add_rows(
        self,
        reference_ids: np.ndarray,
        owners: np.ndarray,
        character_scopes: np.ndarray,
        scopes: np.ndarray,
        vectors: np.ndarray,
    ) -> None:
        """Append many references' rows at once (a columnar load): array copies, no numpy call per row.

        Scopes are guild ids, EVERY_GUILD for a global character (`character_scopes`) or reference (`scopes`).
        A reference already held is replaced; one listed twice keeps its last row. The shortlist is built
        once the index is large enough, unless inside `batch`.
        """
        ids = np.asarray(reference_ids, dtype=np.int64).reshape(-1)
        columns = [np.asarray(owners, dtype=np.int64).reshape(-1)]
        columns += [np.asarray(column, dtype=np.int64).reshape(-1) for column in (character_scopes, scopes)]
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        if any(len(column) != len(ids) for column in columns):
            raise ValueError("reference_ids, owners, character_scopes and scopes must have one entry per row")
        if not len(ids):
            return
        _, last = np.unique(ids[::-1], return_index=True)
        if len(last) < len(ids):  # an id listed twice: its last row wins
            keep = np.sort(len(ids) - 1 - last)
            ids, vectors, columns = ids[keep], vectors[keep], [column[keep] for column in columns]
        with self._sync:
            for reference_id in [i for i in ids.tolist() if i in self._slot_of]:
                self._remove(reference_id)
            self._append(ids, *columns, vectors)
        if not self._batching:
            self._build_when_due()

    def vectors_of(self, reference_ids) -> np.ndarray:
        """(k, d) float32 copy of these references' rows, in their order (KeyError: one is not held)."""
        slots = np.fromiter((self._slot_of[int(i)] for i in reference_ids), dtype=np.int64)
        return self._vectors[self._row_of_slot[slots]].astype(np.float32, copy=True)

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

    def _append(
        self, ids: np.ndarray, owners: np.ndarray, character_scopes: np.ndarray, scopes: np.ndarray, vectors
    ) -> None:
        count = len(ids)
        self._hold(vectors)
        self._settle(self._size + count)
        if self._size + count > len(self._owners) or self._vectors.shape[1] != vectors.shape[1]:
            self._grow(vectors.shape[1], self._size + count)
        rows = np.arange(self._size, self._size + count)
        slots = np.arange(self._next_slot, self._next_slot + count)
        if slots[-1] >= len(self._row_of_slot):
            grown = max(1024, 2 * len(self._row_of_slot), int(slots[-1]) + 1) - len(self._row_of_slot)
            self._row_of_slot = np.concatenate([self._row_of_slot, np.full(grown, -1, dtype=np.int64)])
        cut = slice(self._size, self._size + count)
        self._vectors[cut], self._owners[cut], self._own_scopes[cut] = vectors, owners, scopes
        self._scopes[cut] = np.where(character_scopes == EVERY_GUILD, scopes, character_scopes)
        self._alive[cut], self._slots[cut], self._row_of_slot[slots] = True, slots, rows
        self._size, self._next_slot = self._size + count, self._next_slot + count
        self._slot_of.update(zip(ids.tolist(), slots.tolist(), strict=True))
        order = np.argsort(owners, kind="stable")
        grouped, ordered = owners[order], slots[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        for owner, chunk in zip(grouped[starts].tolist(), np.split(ordered, starts[1:]), strict=True):
            self._slots_of.setdefault(owner, []).extend(chunk.tolist())
        self._changed()

    def _changed(self) -> None:
        """Rows were appended (under the lock): masks are stale, the feeder has rows to index."""
        self._changes += 1
        if self._feeder is not None:
            self._feeder.wake()

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
        self._changes += 1
        if self._feeder is not None:
            self._feeder.removed(slot, int(self._owners[row]))
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
                self._changes += 1

    def view(self, guild_id: int | None) -> RowView:
        """The rows as they are now, with the guild's visibility mask (global rows, and the guild's own).

        The mask is computed once per guild between changes (about 1 ms at 1M rows) and shared read-only.
        """
        size = self._size
        kept = self._masks.get(guild_id)
        if kept is not None and kept[0] == self._changes:
            mask = kept[1]
        else:
            scopes = self._scopes[:size]
            mask = (scopes == EVERY_GUILD) | (scopes == guild_id) if guild_id is not None else scopes == EVERY_GUILD
            mask &= self._alive[:size]
            mask.flags.writeable = False
            if len(self._masks) >= MASKS_KEPT:
                self._masks.clear()
            self._masks[guild_id] = (self._changes, mask)
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
        if self._feeder is not None:
            self._feeder.serving.wait(timeout)
        return self._ann is not None

    def wait_until_indexed(self, timeout: float | None = None) -> bool:
        """Block until the shortlist has indexed every row handed out (tests and benchmarks)."""
        return self._feeder is not None and self._feeder.settled.wait(timeout) and self._ann is not None

    def _hold(self, vectors: np.ndarray) -> None:
        """Keep float32 from now on when a vector would not survive float16 (rare: a CCIP embedding is small)."""
        if not self._full and vectors.size and float(np.abs(vectors).max()) > HALF_LIMIT:
            self._full = True
            if self._vectors.dtype != np.float32:
                self._vectors = self._vectors.astype(np.float32)  # a new array: snapshots keep the old one

    def _settle(self, rows: int) -> None:
        """Hold float16 from the moment the index reaches the shortlist's size (one conversion, once)."""
        held = self._held_dtype(rows)
        if self._vectors.dtype != held:
            self._vectors = self._vectors.astype(held)  # a new array: snapshots keep the old one

    def _held_dtype(self, rows: int) -> np.dtype:
        """float16 once the index is large enough for the shortlist (see HELD_DTYPE), else as it is."""
        if not self._full and self.ann_min_rows is not None and rows >= self.ann_min_rows:
            return np.dtype(HELD_DTYPE)
        return self._vectors.dtype

    def _grow(self, dim: int, needed: int) -> None:
        if self._vectors.shape[1] != dim and self._size:
            raise ValueError(f"embedding of {dim} dims, the index holds {self._vectors.shape[1]}")
        capacity = max(2 * len(self._owners), needed + needed // GROWTH_HEADROOM + 1024)
        vectors = np.zeros((capacity, dim), dtype=self._held_dtype(needed))
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
        self._changes += 1

    def _start_build(self) -> None:
        faiss = load_faiss()
        if faiss is None:
            self.ann_min_rows = None  # logged once by load_faiss; exact search from now on
            return
        if self._feeder is None:  # one feeder for the index's life (a failed build is not retried)
            self._feeder = ShortlistFeeder(self, faiss)
            self._feeder.start()
