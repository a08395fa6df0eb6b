"""Ordering characters for one query: by tag-profile distance, or by CCIP best-k scores with tags as tie-breaker.

With CCIP the closest pair, not the best-k score, decides "unknown" and the confidence (bot.recognition.embedding
says why).

The gallery decides which characters a guild may see and builds their tag profiles; this module only
turns distances into a ranking, so both measures share one result shape and one "unknown" rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.recognition.embedding import (
    BEST_K,
    EmbeddingMetric,
    best_k_scores,
    closest_differences,
    difference_to_confidence,
)
from bot.recognition.ordering import OrderedCandidates, index_of, stable_top
from bot.recognition.profile import DEFAULT_UNKNOWN_DISTANCE, distance_to_confidence
from bot.store.records import CharacterRecord

Measure = Literal["tags", "embedding"]

EVERY_GUILD = -1
"""The scope of an embedding row that every guild may see (a global character's global reference)."""


@dataclass(frozen=True)
class RankedCharacter:
    """One character's place in a ranking of a query region."""

    character: CharacterRecord
    distance: float
    """The ranking's measure: CCIP best-k difference when `Ranking.measure` is "embedding", else tag distance."""
    confidence: float
    """How sure the verdict is, 0.5 at the unknown threshold (with CCIP: of the closest pair, not `distance`)."""
    tag_distance: float | None = None
    """The tag-profile distance (the tie-breaker and the explanation), whatever the measure."""


@dataclass(frozen=True)
class Ranking:
    """Every visible character, closest first; `unknown` when even the closest is too far."""

    candidates: Sequence[RankedCharacter]
    """A tuple, or `OrderedCandidates` (ordered as far as read) for a ranking of many characters."""
    unknown: bool
    measure: Measure = "tags"
    characters: Sequence[CharacterRecord] | None = None
    """The ranking's input order, when `candidates` is ordered lazily (for `position_of` without a sort)."""

    def position_of(self, character_id: int) -> int | None:
        """1-based rank of a character, or None when it has no visible references."""
        if isinstance(self.candidates, OrderedCandidates) and self.characters is not None:
            index = index_of(self.characters, character_id)
            return None if index is None else self.candidates.position(index)
        for position, candidate in enumerate(self.candidates, start=1):
            if candidate.character.id == character_id:
                return position
        return None


@dataclass(frozen=True)
class TagEvidence:
    """How one vocabulary tag speaks for (weight > 0) or against (weight < 0) a character."""

    tag: str
    image: float
    character: float
    weight: float
    rival: float | None = None
    """The rival character's profile value, when the evidence contrasts two characters."""


@dataclass(frozen=True)
class EmbeddingMatrix:
    """Every indexed reference embedding stacked once per gallery change, so a query is one metric call."""

    vectors: np.ndarray
    """[M, d] float32 embeddings."""
    owners: np.ndarray
    """[M] character id of each row."""
    scopes: np.ndarray
    """[M] guild id that may see each row, or EVERY_GUILD."""

    @classmethod
    def stack(cls, rows: Iterable[tuple[int, int | None, np.ndarray]]) -> EmbeddingMatrix:
        """Build from (character id, scope guild or None for every guild, embedding) rows."""
        listed = list(rows)
        return cls(
            vectors=np.stack([row[2] for row in listed]).astype(np.float32) if listed else np.zeros((0, 0), np.float32),
            owners=np.asarray([row[0] for row in listed], dtype=np.int64),
            scopes=np.asarray([EVERY_GUILD if row[1] is None else row[1] for row in listed], dtype=np.int64),
        )

    def visible(self, guild_id: int | None) -> EmbeddingMatrix:
        """The rows this guild may see, as a matrix of their own (copies: the caller may keep them)."""
        rows = self.scopes == EVERY_GUILD
        if guild_id is not None:
            rows |= self.scopes == guild_id
        return EmbeddingMatrix(self.vectors[rows], self.owners[rows], self.scopes[rows])

    def scores(self, metric: EmbeddingMetric, query: np.ndarray, *, guild_id: int | None, k: int) -> dict[int, float]:
        """Best-k CCIP score per character over the rows this guild may see (characters without rows are absent)."""
        seen = self.visible(guild_id)
        if not len(seen.owners):
            return {}
        return best_k_scores(metric.differences_to(query, seen.vectors), seen.owners, k)


@dataclass(frozen=True, eq=False)
class RankingSnapshot:
    """One query's ranking inputs, copied out of the gallery at one moment, so the ranking may finish in a thread.

    Built on the event loop (the gallery changes there); `rank` reads only this object, never the gallery,
    and is the only step that may run a model (the CCIP metric), so a caller can run it off the loop.
    """

    characters: Sequence[CharacterRecord]
    """Every character the guild may see, in the order of `tag_distances` (a lazy `RowRecords` when ranked
    by the block index)."""
    tag_distances: np.ndarray
    unknown_distance: float
    """The tag ranking's "unknown" distance."""
    metric: EmbeddingMetric | None = None
    query: np.ndarray | None = None
    """The query region's embedding; with `metric`, the ranking is by CCIP."""
    references: EmbeddingMatrix | None = None
    """The embedding rows the guild may see."""
    k: int = BEST_K
    threshold: float = 0.0
    """The CCIP ranking's "unknown" difference, compared with the closest pair's."""
    confidence_at: float = DEFAULT_UNKNOWN_DISTANCE
    """The tag ranking's distance of confidence 0.5 (the fitted block metric has its own scale)."""
    verdict: np.ndarray | None = None
    """Distances that decide "unknown" when they differ from the ranking's (the block metric's absolute scale)."""
    deferred: Callable[[], tuple[Sequence[CharacterRecord], np.ndarray, np.ndarray]] | None = None
    """The block index's maths, run by `rank`: (characters, ranking distances, verdict distances)."""
    heavy: bool = False
    """Whether `rank` has enough maths to belong off the event loop even without a model (a large gallery)."""

    def resolved(self) -> tuple[Sequence[CharacterRecord], np.ndarray, np.ndarray | None]:
        """(characters, ranking distances, verdict distances), running the deferred block maths if there is any."""
        if self.deferred is not None:
            return self.deferred()
        return self.characters, self.tag_distances, self.verdict

    @property
    def calls_model(self) -> bool:
        """Whether `rank` runs the metric model (and so belongs off the event loop)."""
        rows = self.references
        return self.metric is not None and self.query is not None and rows is not None and len(rows.owners) > 0

    def rank(self) -> Ranking:
        """The ranking: by CCIP best-k scores when there is a query embedding and a metric, else by tags."""
        metric, query, rows = self.metric, self.query, self.references
        if self.deferred is not None:
            characters, distances, verdict = self.resolved()
            return rank_by_tags(
                characters,
                distances,
                unknown_distance=self.unknown_distance,
                confidence_at=self.confidence_at,
                verdict=verdict,
            )
        if metric is None or query is None or rows is None:
            return rank_by_tags(
                self.characters,
                self.tag_distances,
                unknown_distance=self.unknown_distance,
                confidence_at=self.confidence_at,
                verdict=self.verdict,
            )
        differences = metric.differences_to(query, rows.vectors) if len(rows.owners) else np.zeros(0)
        scores = best_k_scores(differences, rows.owners, self.k)
        closest = closest_differences(differences, rows.owners)
        return rank_by_embedding(self.characters, scores, self.tag_distances, threshold=self.threshold, closest=closest)


def rank_by_tags(
    characters: Sequence[CharacterRecord],
    tag_distances: np.ndarray,
    *,
    unknown_distance: float,
    confidence_at: float = DEFAULT_UNKNOWN_DISTANCE,
    verdict: np.ndarray | None = None,
) -> Ranking:
    """Closest first (tag profile or fitted block distance); unknown when the closest is beyond `unknown_distance`.

    With `verdict` (the block metric's absolute distances), the closest character's verdict entry, not its ranking
    distance, is compared to the threshold, and confidences come from the verdict too.
    """
    tag_distances = np.asarray(tag_distances, dtype=np.float64)
    decides = tag_distances if verdict is None else np.asarray(verdict, dtype=np.float64)
    finite = np.nan_to_num(decides, posinf=1e9)
    confidences = np.asarray(distance_to_confidence(finite * (DEFAULT_UNKNOWN_DISTANCE / confidence_at)), dtype=float)
    candidates = OrderedCandidates(
        tag_distances,
        lambda i: RankedCharacter(
            characters[i], float(tag_distances[i]), float(confidences[i]), float(tag_distances[i])
        ),
    )
    unknown = not len(candidates) or float(decides[int(stable_top(tag_distances, 1)[0])]) > unknown_distance
    return Ranking(candidates=candidates, unknown=unknown, characters=characters)


def rank_by_embedding(
    characters: Sequence[CharacterRecord],
    scores: Mapping[int, float],
    tag_distances: np.ndarray,
    *,
    threshold: float,
    closest: Mapping[int, float] | None = None,
) -> Ranking:
    """Lowest best-k CCIP score first, ties broken by tag distance; unknown when the leader's closest pair is too far.

    `closest` holds each character's smallest single difference, which the model's per-pair threshold is
    calibrated for: it decides "unknown" for the leader and gives every candidate its confidence. Without it,
    `scores` are taken to be single-pair differences already (k = 1). A character with no visible embedding
    scores infinity: it still ranks (last), so `whynot` can place it.
    """
    tag_distances = np.asarray(tag_distances, dtype=np.float64)
    decides = scores if closest is None else closest
    ccip = np.asarray([scores.get(character.id, np.inf) for character in characters], dtype=np.float64)
    nearest = np.asarray([decides.get(character.id, np.inf) for character in characters], dtype=np.float64)
    confidences = np.asarray(difference_to_confidence(np.nan_to_num(nearest, posinf=1e9), threshold), dtype=float)
    order = np.lexsort((tag_distances, ccip))
    candidates = tuple(
        RankedCharacter(characters[i], float(ccip[i]), float(confidences[i]), float(tag_distances[i])) for i in order
    )
    unknown = not candidates or float(nearest[order[0]]) > threshold
    return Ranking(candidates=candidates, unknown=unknown, measure="embedding")
