"""Reference pictures shown beside an answer, chosen by the rules of where a picture may be shown.

A thumbnail is a picture someone else submitted: a reference the tagger rated questionable or explicit
is never shown outside an age-restricted channel, and a guild's own references never leave the guild.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bot.services.reference_images import ReferenceImages
from bot.services.results import IdentifyResult, Match
from bot.store.records import ReferenceRecord, ReferenceStatus

log = logging.getLogger(__name__)

ADULT_RATINGS = frozenset({"questionable", "explicit"})
"""Tagger ratings whose pictures are shown only in age-restricted channels."""


def may_show(rating: str | None, *, age_restricted: bool) -> bool:
    """Whether a picture with this rating may be shown in a channel (unrated pictures count as safe)."""
    return age_restricted or rating not in ADULT_RATINGS


def best_match(result: IdentifyResult) -> Match | None:
    """The most confident top match over the recognised regions (the one the thumbnail illustrates)."""
    tops = [region.matches[0] for region in result.regions if not region.unknown and region.matches]
    return max(tops, key=lambda match: match.confidence, default=None)


def most_typical(references: list[ReferenceRecord]) -> list[ReferenceRecord]:
    """References ordered by closeness of their tag vector to the mean of all of them (most typical first)."""
    sizes = {reference.tag_vector.shape for reference in references}
    if len(references) < 3 or len(sizes) != 1:
        return references
    vectors = np.stack([reference.tag_vector for reference in references]).astype(np.float32)
    distances = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1)
    return [references[index] for index in np.argsort(distances, kind="stable")]


@dataclass(frozen=True)
class ReferencePicture:
    """One stored reference picture with its bytes, ready to attach."""

    reference: ReferenceRecord
    data: bytes
    extension: str


class ReferencePictures:
    """Finds the picture that illustrates a character for one guild and one channel."""

    def __init__(self, store, images: ReferenceImages) -> None:
        self.store = store
        self.images = images

    async def for_character(
        self, character_id: int | None, *, guild_id: int | None, age_restricted: bool
    ) -> ReferencePicture | None:
        """The most typical approved reference the guild may see and the channel may show, if any."""
        if character_id is None:
            return None  # named by the tagger only: nobody has submitted a picture of it
        references = await self.store.list_references(
            status=ReferenceStatus.APPROVED, character_id=character_id, guild_id=guild_id
        )
        showable = [r for r in references if r.image_path and may_show(r.rating, age_restricted=age_restricted)]
        # the guild's own pictures first: its moderators chose them
        ordered = sorted(most_typical(showable), key=lambda reference: reference.guild_id is None)
        for reference in ordered:
            assert reference.image_path is not None
            try:
                data = self.images.read(reference.image_path)
            except (OSError, ValueError):
                log.warning("reference picture %s of reference %s is missing", reference.image_path, reference.id)
                continue
            return ReferencePicture(reference, data, reference.image_path.rsplit(".", 1)[-1])
        return None

    async def thumbnail(
        self, result: IdentifyResult, *, guild_id: int | None, age_restricted: bool
    ) -> ReferencePicture | None:
        """A picture of the best match of an identify result, when one may be shown here."""
        match = best_match(result)
        if match is None:
            return None
        return await self.for_character(match.character_id, guild_id=guild_id, age_restricted=age_restricted)
