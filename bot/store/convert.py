"""Rows to records: the only place ORM objects turn into the plain dataclasses callers see."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Row

from bot.store.records import AuditEntry, CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.store.tables import AuditRow, Character, Reference
from bot.store.vectors import decode_blocks, decode_vector


def character_record(character: Character) -> CharacterRecord:
    """A character with its aliases in the order they were added."""
    return CharacterRecord(
        id=character.id,
        name=character.name,
        series=character.series,
        aliases=tuple(alias.alias for alias in character.aliases),
        guild_id=character.guild_id,
        created_at=character.created_at,
    )


def reference_record(reference: Reference | Row) -> ReferenceRecord:
    """A reference (an ORM object, or a plain row of the references table) with its vectors decoded to float32."""
    embedding = None
    if reference.embedding is not None and reference.embedding_dims is not None:
        embedding = decode_vector(reference.embedding, reference.embedding_dims)
    return ReferenceRecord(
        id=reference.id,
        character_id=reference.character_id,
        status=ReferenceStatus(reference.status),
        guild_id=reference.guild_id,
        tagger=reference.tagger,
        tag_vector=decode_vector(reference.tag_vector, reference.tag_dims),
        embedder=reference.embedder,
        embedding=embedding,
        phash=reference.phash,
        image_path=reference.image_path,
        rating=reference.rating,
        submitted_by=reference.submitted_by,
        submitted_at=reference.submitted_at,
        reviewed_by=reference.reviewed_by,
        reviewed_at=reference.reviewed_at,
        source=reference.source,
        features=reference.features if reference.blocks is not None else None,
        blocks=decode_blocks(reference.blocks) if reference.blocks is not None else {},
        quality=tuple(code for code in (reference.quality or "").split(",") if code),
        face_embedding=_face_embedding(reference),
        face_searched=reference.face_embedding is not None,
    )


def _face_embedding(reference: Reference | Row) -> np.ndarray | None:
    """The largest face's vector; None when the picture showed no face (empty) or was never searched (NULL)."""
    if not reference.face_embedding or reference.embedding_dims is None:
        return None
    return decode_vector(reference.face_embedding, reference.embedding_dims)


def audit_entry(row: AuditRow) -> AuditEntry:
    """One audit row as moderators see it."""
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        guild_id=row.guild_id,
        action=row.action,
        character_id=row.character_id,
        reference_id=row.reference_id,
        detail=row.detail,
    )
