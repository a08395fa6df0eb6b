"""Ordering characters for one query: by tag-profile distance, or by CCIP best-k scores with tags as tie-breaker.

With CCIP the closest pair, not the best-k score, decides "unknown" and the confidence (bot.recognition.embedding
says why).

The gallery decides which characters a guild may see and builds their tag profiles; this module only
turns distances into a ranking, so both measures share one result shape and one "unknown" rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.recognition.embedding import BEST_K, EmbeddingMetric, difference_to_confidence, grouped_scores
from bot.recognition.embedding_index import EVERY_GUILD, EmbeddingRows
from bot.recognition.ordering import OrderedCandidates, index_of, stable_top
from bot.recognition.profile import DEFAULT_UNKNOWN_DISTANCE, distance_to_confidence
from bot.store.records import CharacterRecord

Measure = Literal["tags", "embedding"]
__all__ = ["EVERY_GUILD", "RankedCharacter", "Ranking", "RankingSnapshot", "TagEvidence"]

SHOWN = 10
"""Characters a shortlist must propose at least (the most any answer shows); fewer, and the search is exact."""
TIE_PREFIX = 10
"""Leading CCIP candidates (with all tied at the last one) whose ties the tag distance breaks: as many as an
answer shows (each costs a profile build in the ranking thread, about 0.1-0.3 ms)."""


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
    references: EmbeddingRows | None = None
    """The embedding rows the guild may see (a mask over the gallery's index, not a copy)."""
    records: Callable[[np.ndarray], Sequence[CharacterRecord]] | None = None
    """Character ids -> their records, read lazily (the CCIP ranking's characters are the rows' owners)."""
    tags: Callable[[np.ndarray], np.ndarray] | None = None
    """Character ids -> tag-profile distances of the query: the CCIP tie-breaker, asked for the leaders only."""
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
        return self.metric is not None and self.query is not None and rows is not None and rows.count > 0

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
        if not rows.count or self.records is None or self.tags is None:
            return Ranking(candidates=(), unknown=True, measure="embedding")
        differences, owners = rows.differences(metric, query, SHOWN)
        ids, scores, closest = grouped_scores(differences, owners, self.k)
        return rank_by_scores(self.records(ids), ids, scores, closest, self.tags, threshold=self.threshold)


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


def rank_by_scores(
    characters: Sequence[CharacterRecord],
    ids: np.ndarray,
    scores: np.ndarray,
    closest: np.ndarray,
    tags: Callable[[np.ndarray], np.ndarray],
    *,
    threshold: float,
) -> Ranking:
    """`rank_by_embedding` over score arrays, lazily: tag distances only for the leaders (and what is read).

    The leading TIE_PREFIX characters, with every character tied with the last of them, are ordered by
    (score, tag distance); the rest by score, ties in input order, as `OrderedCandidates` reads them.
    """
    confidences = np.asarray(difference_to_confidence(np.nan_to_num(closest, posinf=1e9), threshold), dtype=float)
    top = stable_top(scores, min(TIE_PREFIX, len(scores)))
    prefix = np.union1d(top, np.flatnonzero(scores == scores[top[-1]]))
    known = dict(zip(prefix.tolist(), np.nan_to_num(tags(ids[prefix]), nan=np.inf).tolist(), strict=True))
    leaders = prefix[np.lexsort((np.array([known[i] for i in prefix.tolist()]), scores[prefix]))]
    key = scores.astype(np.float64)
    key[leaders] = float(scores.min()) - 1 - len(leaders) + np.arange(len(leaders))

    def make(i: int) -> RankedCharacter:
        tag = known[i] if i in known else float(tags(ids[i : i + 1])[0])
        return RankedCharacter(
            characters[i], float(scores[i]), float(confidences[i]), None if not np.isfinite(tag) else tag
        )

    unknown = float(closest[leaders[0]]) > threshold
    return Ranking(OrderedCandidates(key, make), unknown, measure="embedding", characters=characters)
