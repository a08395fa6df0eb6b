"""Hand-built store records for gallery, ranking and fusion tests, so each test states only what it varies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def character(character_id: int, name: str, guild_id: int | None = None) -> CharacterRecord:
    """A character with no series or aliases, global unless a guild is given."""
    return CharacterRecord(character_id, name, None, (), guild_id, NOW)


def approved_reference(
    reference_id: int,
    character_id: int,
    tag_vector: Sequence[float] | np.ndarray,
    *,
    tagger: str,
    guild_id: int | None = None,
    embedder: str | None = None,
    embedding: np.ndarray | None = None,
) -> ReferenceRecord:
    """An approved reference with the given vectors; the embedder is named only when there is an embedding."""
    return ReferenceRecord(
        id=reference_id,
        character_id=character_id,
        status=ReferenceStatus.APPROVED,
        guild_id=guild_id,
        tagger=tagger,
        tag_vector=np.asarray(tag_vector, dtype=np.float32),
        embedder=embedder if embedding is not None else None,
        embedding=embedding,
        phash="0" * 16,
        image_path=None,
        rating=None,
        submitted_by=None,
        submitted_at=NOW,
        reviewed_by=None,
        reviewed_at=None,
        source=None,
    )
