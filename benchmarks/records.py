"""Approved reference records for benchmark galleries, so each benchmark states only the vectors it varies."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bot.store.records import ReferenceRecord, ReferenceStatus

CREATED = datetime.now(UTC)


def approved(
    reference_id: int,
    character_id: int,
    *,
    tagger: str,
    tag_vector: np.ndarray,
    embedder: str | None = None,
    embedding: np.ndarray | None = None,
) -> ReferenceRecord:
    """A global approved reference with these vectors and nothing else (no picture, no submitter)."""
    return ReferenceRecord(
        id=reference_id,
        character_id=character_id,
        status=ReferenceStatus.APPROVED,
        guild_id=None,
        tagger=tagger,
        tag_vector=tag_vector,
        embedder=embedder,
        embedding=embedding,
        phash="0" * 16,
        image_path=None,
        rating=None,
        submitted_by=None,
        submitted_at=CREATED,
        reviewed_by=None,
        reviewed_at=None,
        source=None,
    )
