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
from models.blocks import MIRROR_PREFIX

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
    blocks: Mapping[str, tuple[np.ndarray, np.ndarray]]
    """Per block: the vectors of the references that have it, and their positions (the tags block among them)."""
    embeddings: tuple[np.ndarray, np.ndarray] | None
    """The embeddings of the references that have one, and their positions; None without a CCIP metric."""
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
        return self.measure == "embedding" and self.embeddings is not None and len(self.embeddings[1]) > 0

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
        if self.embeddings is not None and len(self.embeddings[1]):
            vectors, positions = self.embeddings
            distances[positions] = self.metric.differences_to(self.query_embedding, vectors)
        return distances

    def _block_distances(self, count: int) -> np.ndarray:
        assert self.fitted is not None and self.weights is not None
        query = {**self.query_blocks, TAGS_BLOCK: self.query_tags}
        total, weight = np.zeros(count), np.zeros(count)
        for name, vector in query.items():
            block, block_weight = self.fitted.get(name), self.weights.get(name, 0.0)
            stacked, present = self.blocks.get(name, (np.zeros((0, 0)), np.zeros(0, dtype=np.int64)))
            if block is None or block_weight <= 0 or not len(present) or block.whitening.shape[0] != np.size(vector):
                continue
            stacked = stacked.astype(np.float64)
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
    rows = gallery.visible_references(guild_id)
    ids = [reference_id for _, reference_id in rows]
    table = gallery._table
    fitted = gallery.blocks.fitted() if gallery.blocks is not None else None
    own_blocks = [name for name in table.names() if not name.startswith(MIRROR_PREFIX)]
    tags = table.tags(ids) if ids else np.zeros((0, len(gallery.vocabulary)), dtype=np.float32)
    return ReferenceSearch(
        owners=tuple(character for character, _ in rows),
        reference_ids=tuple(ids),
        tags=tags,
        blocks={name: table.column(name, ids) for name in own_blocks},
        embeddings=_embeddings(gallery, ids) if gallery.metric is not None else None,
        query_tags=gallery.vocabulary.select(tag_probs),
        query_blocks=dict(blocks or {}),
        query_embedding=None if embedding is None else np.array(embedding),
        metric=gallery.metric,
        fitted=dict(fitted) if fitted is not None else None,
        weights=dict(gallery.blocks.weights) if gallery.blocks is not None else None,
    )


def _embeddings(gallery: Gallery, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings of those references that have one (copies), and their positions in `ids`."""
    positions = [position for position, reference_id in enumerate(ids) if reference_id in gallery._embeddings]
    return gallery._embeddings.vectors_of([ids[p] for p in positions]), np.asarray(positions, dtype=np.int64)
