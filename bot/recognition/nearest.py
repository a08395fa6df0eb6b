"""Nearest references (not characters) to a picture, in the measure the gallery ranks characters with.

/similar shows the pictures a query looks most like, so the same measure must decide as in identify:
the CCIP difference when the gallery compares embeddings; else the fitted block metric (each block whitened
and scaled as for profiles, divided by its median over the references that have it, then weight-averaged
over the blocks both sides have: the "ratio" rule of bot/recognition/blocks.py); else the tag profile's
distance, which for a single reference (no spread) is the mean squared difference of the tag vectors.

A `ReferenceSearch` is taken on the event loop, where the gallery changes; `nearest` reads only the search
(it may run the CCIP metric model, and the block metric costs about 0.3 s over 1000 references with the CNN
blocks on one core), so a service finishes it in a thread, as with `RankingSnapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.embedding import EmbeddingMetric
from bot.recognition.gallery import Gallery
from bot.recognition.metric import FittedBlock
from bot.store.records import CharacterRecord

Measure = Literal["embedding", "blocks", "tags"]


@dataclass(frozen=True)
class NearReference:
    """One indexed reference and its distance to the query (smaller is nearer)."""

    reference_id: int
    character: CharacterRecord
    distance: float


@dataclass(frozen=True, eq=False)
class ReferenceSearch:
    """The references a guild may see and what comparing the query with them needs, copied at one moment."""

    owners: tuple[CharacterRecord, ...]
    reference_ids: tuple[int, ...]
    tags: np.ndarray
    """[N, vocabulary] tag vectors of the references."""
    blocks: tuple[Mapping[str, np.ndarray], ...]
    """Each reference's blocks as the gallery indexed them (its tag vector among them as the tags block)."""
    embeddings: tuple[np.ndarray | None, ...]
    query_tags: np.ndarray
    query_blocks: Mapping[str, np.ndarray]
    query_embedding: np.ndarray | None
    metric: EmbeddingMetric | None = None
    fitted: Mapping[str, FittedBlock] | None = None
    """The gallery's fitted block metric (immutable objects; the gallery replaces, never edits, them)."""
    weights: Mapping[str, float] | None = None

    @property
    def measure(self) -> Measure:
        """Which distance `nearest` uses."""
        if self.metric is not None and self.query_embedding is not None:
            return "embedding"
        return "blocks" if self.fitted is not None and self.weights else "tags"

    @property
    def calls_model(self) -> bool:
        """Whether `nearest` runs the CCIP metric (and so belongs off the event loop)."""
        return self.measure == "embedding" and any(row is not None for row in self.embeddings)

    def distances(self) -> np.ndarray:
        """Distance [N] of the query to every reference; inf where the reference cannot be compared."""
        count = len(self.reference_ids)
        if count == 0:
            return np.zeros(0)
        if self.measure == "embedding":
            return self._embedding_distances(count)
        if self.measure == "blocks":
            return self._block_distances(count)
        difference = self.tags.astype(np.float64) - np.asarray(self.query_tags, dtype=np.float64)[None, :]
        return np.mean(np.square(difference), axis=1)

    def _embedding_distances(self, count: int) -> np.ndarray:
        assert self.metric is not None and self.query_embedding is not None
        distances = np.full(count, np.inf)
        rows = [i for i, row in enumerate(self.embeddings) if row is not None]
        if rows:
            stacked = np.stack([self.embeddings[i] for i in rows]).astype(np.float32)
            distances[rows] = self.metric.differences_to(self.query_embedding, stacked)
        return distances

    def _block_distances(self, count: int) -> np.ndarray:
        assert self.fitted is not None and self.weights is not None
        query = {**self.query_blocks, TAGS_BLOCK: self.query_tags}
        total, weight = np.zeros(count), np.zeros(count)
        for name, vector in query.items():
            block, block_weight = self.fitted.get(name), self.weights.get(name, 0.0)
            present = [i for i, blocks in enumerate(self.blocks) if name in blocks]
            if block is None or block_weight <= 0 or not present or block.whitening.shape[0] != np.size(vector):
                continue
            stacked = np.stack([self.blocks[i][name] for i in present]).astype(np.float64)
            difference = stacked - np.asarray(vector, dtype=np.float64)[None, :]
            row = np.linalg.norm(block.transform(difference), axis=1) / block.scale
            row /= max(float(np.median(row)), 1e-12)
            total[present] += block_weight * row
            weight[present] += block_weight
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.inf)

    def nearest(self, top: int) -> list[NearReference]:
        """The `top` nearest comparable references, nearest first (ties by reference id)."""
        distances = self.distances()
        order = np.lexsort((np.asarray(self.reference_ids), distances))
        return [
            NearReference(self.reference_ids[i], self.owners[i], float(distances[i]))
            for i in order[: max(0, top)]
            if np.isfinite(distances[i])
        ]


def reference_search(
    gallery: Gallery,
    tag_probs: np.ndarray,
    *,
    guild_id: int | None,
    blocks: Mapping[str, np.ndarray] | None = None,
    embedding: np.ndarray | None = None,
) -> ReferenceSearch:
    """Copy what a reference search needs out of the gallery now (on the event loop); cheap numpy only."""
    rows = gallery.references(guild_id)
    vocabulary = len(gallery.vocabulary)
    fitted = gallery.blocks.fitted() if gallery.blocks is not None else None
    return ReferenceSearch(
        owners=tuple(character for character, _, _ in rows),
        reference_ids=tuple(reference_id for _, reference_id, _ in rows),
        tags=np.stack([row.tag_vector for _, _, row in rows]) if rows else np.zeros((0, vocabulary)),
        blocks=tuple(dict(row.blocks) for _, _, row in rows),
        embeddings=tuple(row.embedding for _, _, row in rows),
        query_tags=gallery.vocabulary.select(tag_probs),
        query_blocks=dict(blocks or {}),
        query_embedding=None if embedding is None else np.array(embedding),
        metric=gallery.metric,
        fitted=dict(fitted) if fitted is not None else None,
        weights=dict(gallery.blocks.weights) if gallery.blocks is not None else None,
    )
