"""Ranking by feature blocks: the fitted metric per block, combined over the blocks a query and a character share.

Each approved reference brings its blocks (the tags, and with the bundled models the face/head palette and
the CNN's whole/head features); `BlockIndex` keeps each block's sufficient statistics (bot/recognition/
metric.py) and refits lazily after a change, so an approval counts at the next query without a store read.
Missing blocks (a character none of whose references shows a face, a query without a face): each block's
distances are divided by their median over the characters that have the block for this query ("ratio"
rule, measured in issue 14 not to favour characters with missing blocks), then averaged with the block
weights renormalised over the blocks both sides have. A block's part of a character's distance is kept,
so `whynot` can say how much of a gap each block makes, and the parts add up to the distance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.recognition.metric import BlockStats, FittedBlock, fit_block

TAGS_BLOCK = "tags"
"""The tagger's vector of the region (vocabulary dims): the whole-picture palette with the offline default."""

BLOCK_LABELS = {
    TAGS_BLOCK: "picture colours and tags",
    "palette_face": "face colours",
    "palette_head": "head colours",
    "cnn_whole": "whole-picture shape features",
    "cnn_head": "head shape features",
}
"""How `whynot` names each block's share of a gap."""

BLOCK_UNKNOWN_DISTANCE = 1.0
"""Combined distance beyond which the best match is "unknown" (confidence 0.5 there). A distance of 1 is the
median candidate's: the best match must at least stand out from the crowd; measured rejection stays weak
(see README: 7-18% of absent characters' pictures at 95% acceptance)."""

Blocks = Mapping[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class BlockScores:
    """Combined distance per character [C], and each block's part of it ([C] each; the parts sum to it)."""

    combined: np.ndarray
    parts: dict[str, np.ndarray]
    absolute: np.ndarray
    """The same average without the per-query median ratio: scaled distances (about 1 for a wrong character),
    so "unknown" can be decided even when there are too few characters for a median to mean anything."""
    calibrated: bool
    """Whether every block compared has a scale fitted from two or more characters (else `absolute` is raw)."""


class BlockIndex:
    """Per-block statistics of the indexed references and the metric fitted from them (refit after a change)."""

    def __init__(self, weights: Mapping[str, float], *, shrink: float = 0.5) -> None:
        self.weights = {block: float(weight) for block, weight in weights.items() if weight > 0}
        self.shrink = shrink
        self.stats: dict[str, BlockStats] = {}
        self.generation = 0
        """Bumped by every change, so cached whitened profiles know when they are stale."""
        self._fitted: dict[str, FittedBlock] | None = None
        self._profiles: dict[object, tuple[int, dict[str, np.ndarray]]] = {}

    def used(self, blocks: Blocks) -> dict[str, np.ndarray]:
        """The blocks this index weighs, as float64 vectors."""
        return {name: np.asarray(vector, dtype=np.float64) for name, vector in blocks.items() if name in self.weights}

    def add(self, character_id: int, blocks: Blocks, *, sign: int = 1) -> None:
        """Count (or with sign=-1 uncount) one reference's blocks; O(d^2) per block, no refit yet."""
        for name, vector in self.used(blocks).items():
            stats = self.stats.get(name)
            if stats is None:
                stats = self.stats[name] = BlockStats(vector.size)
            stats.add(character_id, vector, sign)
        self.generation += 1
        self._fitted = None

    def fitted(self) -> dict[str, FittedBlock]:
        """The metric of every block with references, fitted now if anything changed since the last fit."""
        if self._fitted is None:
            self._fitted = fit_blocks(self.stats, self.shrink)
        return self._fitted

    @property
    def stale(self) -> bool:
        """Whether the next ranking would refit (one eigendecomposition per block: 0.1-0.5 s for 1024 dims)."""
        return self._fitted is None

    def statistics(self) -> tuple[int, dict[str, BlockStats]]:
        """This generation and a copy of the statistics, so a thread can fit them while approvals go on."""
        return self.generation, {name: stats.copy() for name, stats in self.stats.items()}

    def install(self, generation: int, fitted: dict[str, FittedBlock]) -> bool:
        """Take a fit made elsewhere from `statistics()`; refused (False) when a change came since."""
        if generation != self.generation:
            return False
        self._fitted = fitted
        return True

    def profile(self, key: object, references: Sequence[Blocks]) -> dict[str, np.ndarray]:
        """A character's whitened profile per block (W @ mean of the references that have it), cached under `key`."""
        cached = self._profiles.get(key)
        if cached is not None and cached[0] == self.generation:
            return cached[1]
        if len(self._profiles) > 100_000:
            self._profiles.clear()
        fitted = self.fitted()
        profile: dict[str, np.ndarray] = {}
        for name, block in fitted.items():
            vectors = [np.asarray(ref[name], dtype=np.float64) for ref in references if name in ref]
            if vectors:
                profile[name] = block.transform(np.mean(vectors, axis=0))
        self._profiles[key] = (self.generation, profile)
        return profile

    def scores(self, query: Blocks, profiles: Sequence[Mapping[str, np.ndarray]]) -> BlockScores:
        """Combined distances of one query to each profile over the blocks both have ("ratio" rule)."""
        fitted = self.fitted()
        count = len(profiles)
        weight = np.zeros(count)
        raw: dict[str, np.ndarray] = {}
        scaled: dict[str, np.ndarray] = {}
        calibrated = True
        for name, vector in self.used(query).items():
            block = fitted.get(name)
            present = [i for i, profile in enumerate(profiles) if name in profile]
            if block is None or not present or block.whitening.shape[0] != vector.size:
                continue
            row = np.full(count, np.nan)
            row[present] = block.distances(vector, np.stack([profiles[i][name] for i in present]))
            scaled[name] = row.copy()
            row[present] /= max(float(np.median(row[present])), 1e-12)
            raw[name] = row
            calibrated = calibrated and block.calibrated
            weight[present] += self.weights[name]
        parts: dict[str, np.ndarray] = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, row in raw.items():
                parts[name] = np.where(np.isnan(row), 0.0, self.weights[name] * np.nan_to_num(row) / weight)
            absolute = sum(
                (
                    np.where(np.isnan(row), 0.0, self.weights[name] * np.nan_to_num(row) / weight)
                    for name, row in scaled.items()
                ),
                start=np.zeros(count),
            )
        combined = np.sum(list(parts.values()), axis=0) if parts else np.zeros(count)
        combined = np.where(weight > 0, combined, np.inf)
        absolute = np.where(weight > 0, absolute, np.inf)
        return BlockScores(
            np.asarray(combined, dtype=np.float64), parts, np.asarray(absolute), calibrated and bool(parts)
        )


def fit_blocks(stats: Mapping[str, BlockStats], shrink: float) -> dict[str, FittedBlock]:
    """The fitted metric of every block that has references (pure: safe in any thread on copied statistics)."""
    return {name: fit_block(block, shrink=shrink) for name, block in stats.items() if block.counts}


def gap_shares(scores: BlockScores, character: int, rival: int) -> dict[str, float]:
    """Each block's part of distance(rival) - distance(character); the parts add up to that gap."""
    return {name: float(part[rival] - part[character]) for name, part in scores.parts.items()}
