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

from collections.abc import Mapping
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


def combine(distances: Mapping[str, np.ndarray], weights: Mapping[str, float], calibrated: bool) -> BlockScores:
    """The "ratio" rule: each block's distances over their median, averaged with weights of the blocks present."""
    count = len(next(iter(distances.values()))) if distances else 0
    weight = np.zeros(count)
    raw: dict[str, np.ndarray] = {}
    for name, row in distances.items():
        present = ~np.isnan(row)
        if not present.any():
            continue
        raw[name] = row / max(float(np.median(row[present])), 1e-12)
        weight[present] += weights[name]
    parts: dict[str, np.ndarray] = {}
    absolute = np.zeros(count)
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, row in raw.items():
            parts[name] = np.where(np.isnan(row), 0.0, weights[name] * np.nan_to_num(row) / weight)
            absolute += np.where(np.isnan(row), 0.0, weights[name] * np.nan_to_num(distances[name]) / weight)
    combined = np.sum(list(parts.values()), axis=0) if parts else np.zeros(count)
    combined = np.where(weight > 0, combined, np.inf)
    absolute = np.where(weight > 0, absolute, np.inf)
    return BlockScores(np.asarray(combined, dtype=np.float64), parts, absolute, calibrated and bool(parts))


def fit_blocks(stats: Mapping[str, BlockStats], shrink: float) -> dict[str, FittedBlock]:
    """The fitted metric of every block that has references (pure: safe in any thread on copied statistics)."""
    return {name: fit_block(block, shrink=shrink) for name, block in stats.items() if block.total}


def gap_shares(scores: BlockScores, character: int, rival: int) -> dict[str, float]:
    """Each block's part of distance(rival) - distance(character); the parts add up to that gap."""
    return {name: float(part[rival] - part[character]) for name, part in scores.parts.items()}
