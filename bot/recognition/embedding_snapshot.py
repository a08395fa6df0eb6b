"""A CCIP ranking's snapshot, taken without a loop over the gallery's characters.

Why: at 100,000 characters, building every visible character's tag profile per query costs more than the
CCIP search itself. In a CCIP gallery every indexed reference has an embedding (`ModelIdentity` refuses the
rest), so the characters a guild may see are the owners of its visible embedding rows; the tag distance
is only the tie-breaker, computed for the leading characters (`ranking.rank_by_scores`) in the ranking's
thread. That thread reads profiles already cached by the loop and builds missing ones without caching
them, so it never writes to the gallery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from bot.recognition.embedding_index import EmbeddingRows
from bot.recognition.explanations import visible
from bot.recognition.profile import CharacterProfile, build_profile, profile_distances
from bot.recognition.ranking import RankingSnapshot
from bot.recognition.row_records import RowRecords

if TYPE_CHECKING:
    from bot.recognition.gallery import Gallery


def tag_distances(gallery: Gallery, query: np.ndarray, guild_id: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """Character ids -> the query's tag-profile distance to each (NaN: the character has left the gallery)."""
    entries = gallery._entries

    def distances(ids: np.ndarray) -> np.ndarray:
        out = np.full(len(ids), np.nan)
        found: list[tuple[int, CharacterProfile]] = []
        for position, character_id in enumerate(ids.tolist()):
            entry = entries.get(character_id)
            if entry is None:
                continue
            profile = entry.profiles.get(guild_id)
            if profile is None:
                shown = [i for i, guild in list(entry.references.items()) if visible(guild, guild_id)]
                profile = build_profile(gallery._table.tags(shown)) if shown else None
            if profile is not None:
                found.append((position, profile))
        if found:  # one distance call for all of them
            out[[position for position, _ in found]] = profile_distances(query, [profile for _, profile in found])
        return out

    return distances


def embedding_snapshot(
    gallery: Gallery, query: np.ndarray, guild_id: int | None, embedding: np.ndarray, rows: EmbeddingRows
) -> RankingSnapshot:
    """The snapshot of a CCIP ranking: the guild's visible rows, the metric, and lazy records and tags."""
    assert gallery.metric is not None
    return RankingSnapshot(
        (),
        np.zeros(0),
        gallery.unknown_distance,
        metric=gallery.metric,
        query=np.array(embedding),
        references=rows,
        k=gallery.best_k,
        threshold=float(gallery.unknown_difference),
        records=lambda ids: RowRecords(gallery, ids),
        tags=tag_distances(gallery, query, guild_id),
    )
