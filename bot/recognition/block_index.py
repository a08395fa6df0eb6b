"""The gallery's block index: one row per character in contiguous arrays, ranked by matrix products.

Why: a gallery of the field's size (100,000 characters) cannot be ranked by a loop over characters in
Python. Every block keeps, per character row, the count and sum of its public references (bot/recognition/
metric.py `BlockStats`) and the whitened profile W (sum / count) as float32, so a query is one matrix-vector
product per block, plus the rows a guild's own references change for that guild. An approval re-whitens
only its character's row with the fit in hand; the fit itself (W and the scale) is remade at once while that
is cheap (REFIT_BUDGET), else in a worker thread (`bot.services.identify.refit_off_loop`) from statistics read
live, the rows changed meanwhile re-whitened when it is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.recognition.block_rows import Refit, block_distances, grown, live_copy, profile_rows
from bot.recognition.blocks import Blocks, BlockScores, combine
from bot.recognition.metric import BlockStats, FittedBlock, fit_block

EVERY_GUILD = -1
"""Scope of a character every guild may see."""
REFIT_BUDGET = 3e7
"""Multiply-adds (rows x d^2 + d^3 per block) below which a change refits at once; above, the fit in hand
keeps serving (changed characters' rows are re-whitened with it at once) while a refit runs in a thread."""


HEAVY_ROWS = 20_000
"""Characters beyond which a ranking's maths (about 1 ms per 10,000 on one core) runs in a worker thread."""


@dataclass(frozen=True, eq=False)
class ScorePlan:
    """One query's block scoring, taken on the loop: whether its scales are calibrated, and the maths to run."""

    calibrated: bool
    rows: int
    """Rows the maths reads (a size hint: large plans run in a thread)."""
    ids: np.ndarray
    """Character id of each row, as the plan was taken."""
    compute: Callable[[], tuple[np.ndarray, BlockScores]]

    @property
    def heavy(self) -> bool:
        """Whether the maths belongs in a worker thread (see HEAVY_ROWS)."""
        return self.rows > HEAVY_ROWS


class BlockIndex:
    """Per-block statistics of the indexed references, the metric fitted from them, and whitened profile rows.

    Every character has one row in every block's arrays, so a ranking is one matrix-vector product per block
    over contiguous float32 profiles (argpartition picks what is shown), not a loop over characters. Guild
    references are kept apart and added to their characters' rows only for that guild's queries.
    """

    def __init__(self, weights: Mapping[str, float], *, shrink: float = 0.5) -> None:
        self.weights = {block: float(weight) for block, weight in weights.items() if weight > 0}
        self.shrink = shrink
        self.stats: dict[str, BlockStats] = {}
        self.generation = 0
        """Bumped by every change; a refit made from older statistics re-whitens the rows changed since."""
        self._fitted: dict[str, FittedBlock] | None = None
        self._fit_generation = -1
        self._rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._changed: dict[int, set[tuple[str, int]]] = {}
        """generation -> (block, row) changed at it, kept until a refit newer than it is installed."""
        self._row_of: dict[int, int] = {}
        self.ids = np.zeros(0, dtype=np.int64)
        """Character id of each row (rows of removed characters are reused)."""
        self.scopes = np.zeros(0, dtype=np.int64)
        self.views = np.zeros(0, dtype=np.int64)
        """Reference views counted per row; 0 marks a free row."""
        self._free: list[int] = []
        self._expected_rows = 0
        """Characters a load announced (`reserve`): its first partition makes room for them all."""

    def reserve(self, characters: int) -> None:
        """Room for this many characters' rows, made by the next `add_columns` (a load's, before its partitions)."""
        self._expected_rows = max(self._expected_rows, characters)

    def used(self, blocks: Blocks) -> dict[str, np.ndarray]:
        """The blocks this index weighs, as float64 vectors."""
        return {name: np.asarray(vector, dtype=np.float64) for name, vector in blocks.items() if name in self.weights}

    def row(self, character_id: int) -> int | None:
        """The character's row in every block's arrays, None when it has no reference indexed."""
        return self._row_of.get(character_id)

    def _claim(self, character_id: int, scope: int | None) -> int:
        row = self._row_of.get(character_id)
        if row is not None:
            return row
        if self._free:
            row = self._free.pop()
        else:
            row = len(self._row_of)
            if row >= len(self.ids):
                size = int(len(self.ids) * 1.5) + 8
                self.ids, self.scopes, self.views = (grown(a, size) for a in (self.ids, self.scopes, self.views))
        self._row_of[character_id] = row
        self.ids[row], self.views[row] = character_id, 0
        self.scopes[row] = EVERY_GUILD if scope is None else scope
        return row

    def set_scope(self, character_id: int, scope: int | None) -> None:
        """A character promoted to (or moved out of) the global gallery."""
        row = self._row_of.get(character_id)
        if row is not None:
            self.scopes[row] = EVERY_GUILD if scope is None else scope

    def add(
        self,
        character_id: int,
        blocks: Blocks,
        *,
        sign: int = 1,
        scope: int | None = None,
        character_scope: int | None = None,
    ) -> None:
        """Count (or with sign=-1 uncount) one reference view's blocks; O(d^2) per block, no refit yet.

        `scope` is the reference's guild (None: every guild), `character_scope` the character's own.
        """
        row = self._claim(character_id, character_scope)
        for name, vector in self.used(blocks).items():
            stats = self.stats.get(name)
            if stats is None:
                stats = self.stats[name] = BlockStats(vector.size)
            stats.add(row, vector, sign, scope=scope)
            self._changed.setdefault(self.generation + 1, set()).add((name, row))
        self.views[row] += sign
        if self.views[row] <= 0:
            del self._row_of[character_id]
            self.views[row] = 0
            self._free.append(row)
        self.generation += 1
        for name, changed_row in self._changed.get(self.generation, ()):
            self._rewhiten(name, changed_row)

    def add_columns(
        self,
        owners: np.ndarray,
        scopes: np.ndarray,
        character_scopes: np.ndarray,
        views: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
        view_counts: np.ndarray,
    ) -> None:
        """Count many references at once (a load): per reference its character, scope and character's scope
        (EVERY_GUILD: global), `view_counts` views each, and per block the (reference positions, vectors) of
        every view that has it. Global views enter each block's statistics by matrix products; a guild's one
        by one. The fit goes stale (the next ranking refits).
        """
        unique, first, inverse = np.unique(owners, return_index=True, return_inverse=True)
        for owner, scope in zip(unique.tolist(), character_scopes[first].tolist(), strict=True):
            self._claim(owner, None if scope == EVERY_GUILD else scope)
        rows = np.fromiter((self._row_of[owner] for owner in unique.tolist()), np.int64, len(unique))[inverse]
        np.add.at(self.views, rows, view_counts)
        for name, parts in views.items():
            if name not in self.weights:
                continue
            for positions, vectors in parts:
                stats = self.stats.setdefault(name, BlockStats(vectors.shape[1]))
                top = max(int(rows.max()), self._expected_rows)  # a load's whole size, known before its partitions
                stats.reserve(top + max(1024, top // 4))  # once, with room: a new character must not regrow them
                public = scopes[positions] == EVERY_GUILD
                if public.all():  # a load's usual case: no copy of the vectors
                    stats.add_many(rows[positions], vectors)
                else:
                    stats.add_many(rows[positions[public]], vectors[public])
                for index in np.flatnonzero(~public).tolist():
                    stats.add(int(rows[positions[index]]), vectors[index], scope=int(scopes[positions[index]]))
        self.generation += 1
        self._fitted = None

    def _rewhiten(self, name: str, row: int) -> None:
        """Bring one row of one block up to date under the fit in hand (the fit itself waits for a refit)."""
        if self._fitted is None or name not in self._fitted or name not in self._rows:
            return
        stats, block = self.stats[name], self._fitted[name]
        profiles, squares = self._rows[name]
        if row >= len(profiles):
            size = len(stats.public_counts)
            profiles, squares = grown(profiles, size), grown(squares, size)
            self._rows[name] = (profiles, squares)
        count = stats.public_counts[row]
        vector = block.whitening @ (stats.public_sums[row] / count) if count else np.zeros(stats.dim)
        profiles[row] = vector
        squares[row] = float(profiles[row] @ profiles[row])

    @property
    def has_fit(self) -> bool:
        """Whether a fit is in hand (there is none before the first ranking)."""
        return self._fitted is not None

    @property
    def stale(self) -> bool:
        """Whether references changed since the fit in hand was made."""
        return self._fitted is None or self._fit_generation != self.generation

    def _cost(self) -> float:
        return sum(len(s.public_counts) * s.dim**2 + s.dim**3 for s in self.stats.values())

    @property
    def cheap(self) -> bool:
        """Whether a refit is small enough to make at once (see REFIT_BUDGET)."""
        return self._cost() <= REFIT_BUDGET

    def fitted(self) -> dict[str, FittedBlock]:
        """The fit in hand; made now when there is none, or when a change came and refitting is cheap."""
        if self._fitted is None or (self.stale and self.cheap):
            self.install(self.prepare_refit()())
        assert self._fitted is not None
        return self._fitted

    def prepare_refit(self) -> Callable[[], Refit]:
        """On the loop: what a thread needs to refit (copies of the small parts); call the result in the thread.

        The large row arrays are read live: a row the loop changes meanwhile is in `_changed` and is
        re-whitened when the refit is installed, so a torn read never survives.
        """
        generation = self.generation
        stats = {name: block.copy() if self.cheap else live_copy(block) for name, block in self.stats.items()}
        shrink = self.shrink

        def refit() -> Refit:
            fitted = {name: fit_block(block, shrink=shrink) for name, block in stats.items() if block.total}
            rows = {name: profile_rows(stats[name], block) for name, block in fitted.items()}
            return Refit(generation, fitted, rows)

        return refit

    def install(self, refit: Refit) -> bool:
        """Take a refit; rows changed after its statistics were read are re-whitened with it. False if older."""
        if refit.generation < self._fit_generation:
            return False
        self._fitted, self._rows, self._fit_generation = refit.fitted, dict(refit.rows), refit.generation
        for generation in sorted(self._changed):
            if generation <= refit.generation:
                del self._changed[generation]
            else:
                for name, row in self._changed[generation]:
                    self._rewhiten(name, row)
        return True

    def scores_for(self, query: Blocks, guild_id: int | None) -> tuple[np.ndarray, BlockScores]:
        """The rows of the characters a guild may see and their combined distances to the query, vectorised."""
        return self.plan(query, guild_id).compute()

    def plan(self, query: Blocks, guild_id: int | None) -> ScorePlan:
        """On the loop: what `scores_for` reads, taken now; the returned call does the maths, in any thread.

        The fit and the guild's own parts are taken here; the large row arrays are read live by the call
        (a row re-whitened meanwhile is at worst the approved character's own, read old or new).
        """
        fitted = self.fitted()
        size = len(self.ids)
        visible = (self.views[:size] > 0) & (
            (self.scopes[:size] == EVERY_GUILD) | (self.scopes[:size] == (guild_id or EVERY_GUILD))
        )
        work = []
        for name, vector in self.used(query).items():
            block, stats = fitted.get(name), self.stats.get(name)
            if block is None or stats is None or stats.shift is None or block.whitening.shape[0] != vector.size:
                continue
            parts = dict(stats.scoped.get(guild_id, {})) if guild_id is not None else {}
            work.append(
                (name, block, stats.public_counts, stats.public_sums, stats.shift, self._rows[name], parts, vector)
            )
        weights = dict(self.weights)

        def compute() -> tuple[np.ndarray, BlockScores]:
            distances = {
                name: block_distances(block, counts, sums, shift, rows, parts, vector, size)
                for name, block, counts, sums, shift, rows, parts, vector in work
            }
            weight = np.zeros(size)
            for row in distances.values():
                row[~visible] = np.nan
            for name, row in distances.items():
                weight[~np.isnan(row)] += weights[name]
            positions = np.flatnonzero(weight > 0)
            return positions, combine({name: row[positions] for name, row in distances.items()}, weights, calibrated)

        calibrated = bool(work) and all(block.calibrated for _, block, *_ in work)
        return ScorePlan(calibrated, size, self.ids[:size].copy(), compute)

    def scores(self, query: Blocks, profiles: Sequence[Mapping[str, np.ndarray]]) -> BlockScores:
        """Combined distances of one query to given whitened profiles (one dict per character; tests, /similar)."""
        fitted = self.fitted()
        count = len(profiles)
        distances: dict[str, np.ndarray] = {}
        calibrated = True
        for name, vector in self.used(query).items():
            block = fitted.get(name)
            present = [i for i, profile in enumerate(profiles) if name in profile]
            if block is None or not present or block.whitening.shape[0] != vector.size:
                continue
            row = np.full(count, np.nan)
            row[present] = block.distances(vector, np.stack([profiles[i][name] for i in present]))
            distances[name] = row
            calibrated = calibrated and block.calibrated
        return combine(distances, self.weights, calibrated)

    def profile(self, references: Sequence[Blocks]) -> dict[str, np.ndarray]:
        """Whitened profile per block (W @ mean of the views that have it) of a set of reference views."""
        profile: dict[str, np.ndarray] = {}
        for name, block in self.fitted().items():
            vectors = [np.asarray(ref[name], dtype=np.float64) for ref in references if name in ref]
            if vectors:
                profile[name] = block.transform(np.mean(vectors, axis=0))
        return profile
