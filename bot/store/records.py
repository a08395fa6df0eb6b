"""Plain records the repository returns, so no SQLAlchemy object leaves the store."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


class ReferenceStatus(enum.StrEnum):
    """Where a reference is in moderation; only approved ones enter the gallery."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class CharacterRecord:
    """A character; `guild_id` None means global, else it is visible only in that guild."""

    id: int
    name: str
    series: str | None
    aliases: tuple[str, ...]
    guild_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class ReferenceRecord:
    """One reference image of a character, with the vectors a given model produced for it."""

    id: int
    character_id: int
    status: ReferenceStatus
    guild_id: int | None
    tagger: str
    """`name@version` of the tagger that made `tag_vector`."""
    tag_vector: np.ndarray
    embedder: str | None
    embedding: np.ndarray | None
    phash: str
    image_path: str | None
    """Path of the stored image, relative to the data directory's reference folder."""
    rating: str | None
    submitted_by: int | None
    submitted_at: datetime
    reviewed_by: int | None
    reviewed_at: datetime | None
    source: str | None
    """Where it came from (a file path, a message link), for moderators."""
    features: str | None = None
    """Identity of the recipe and models that made `blocks` (models/blocks.py); None when it has none."""
    blocks: dict[str, np.ndarray] = field(default_factory=dict)
    """Named feature blocks beyond the tag vector (face/head palette, CNN), float32 each."""
    quality: tuple[str, ...] = ()
    """Warnings about the picture recorded at submission (bot/services/reference_quality.py codes)."""
    face_embedding: np.ndarray | None = None
    """The `embedder`'s vector of the picture's largest detected face (faces are compared with faces)."""
    face_searched: bool = False
    """Whether the hub face detector looked at the picture; False for references made before migration 0005."""


@dataclass(frozen=True)
class AuditEntry:
    """One change to characters or references, kept for moderators."""

    id: int
    at: datetime
    actor_id: int | None
    guild_id: int | None
    action: str
    character_id: int | None
    reference_id: int | None
    detail: str
