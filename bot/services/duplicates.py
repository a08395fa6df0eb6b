"""Near-duplicate pictures: the perceptual hash says "same layout", the tags say whether it is the same drawing.

Enrollment refuses a picture that repeats a stored reference (pending or approved) or another picture of
its own batch, so the gallery never counts one drawing twice and a member learns which picture it repeats.
"""

from __future__ import annotations

import imagehash
import numpy as np

from bot.errors import DuplicateReference
from bot.recognition.analysis import ImageAnalysis
from bot.recognition.gallery import Gallery
from bot.store.records import ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore

DISTINCT_TAG_GAP = 0.5
"""A vocabulary tag that differs this much means two pictures are not copies of each other. Measured with the
palette tagger: a JPEG q40 copy at 70% size moves no tag by more than 0.27 (8 dataset pictures), while the same
drawing in another character's colours moves its hair tags by more than 0.8."""


def hash_distance(first: str, second: str) -> int:
    """Hamming distance between two perceptual hashes written as hex."""
    return imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second)


class DuplicateCheck:
    """Finds what a new picture nearly repeats: a stored reference, or another analysed picture."""

    def __init__(self, store: CharacterStore, gallery: Gallery, *, max_distance: int = 4) -> None:
        self.store = store
        self.gallery = gallery
        """Read for its vocabulary at each check: a reload may change which tags count."""
        self.max_distance = max_distance

    def is_duplicate(
        self, first_hash: str, second_hash: str, first_tags: np.ndarray | None, second_tags: np.ndarray | None
    ) -> int | None:
        """The hash distance when two pictures are near-duplicates, else None.

        The perceptual hash sees only grey levels, so a recoloured copy (another character drawn on the
        same layout) would pass as the same picture; when both have tag vectors of one tagger, a
        character-colour tag that moved by DISTINCT_TAG_GAP or more proves they differ.
        """
        distance = hash_distance(first_hash, second_hash)
        if distance > self.max_distance:
            return None
        if first_tags is not None and second_tags is not None and first_tags.shape == second_tags.shape:
            gap = np.abs(self.gallery.vocabulary.select(first_tags) - self.gallery.vocabulary.select(second_tags))
            if gap.size and float(gap.max()) >= DISTINCT_TAG_GAP:
                return None
        return distance

    def repeats(self, analysis: ImageAnalysis, other: ImageAnalysis) -> int | None:
        """The hash distance when two analysed pictures (one tagger) are near-duplicates, else None."""
        return self.is_duplicate(analysis.phash, other.phash, analysis.whole.tag_probs, other.whole.tag_probs)

    async def find_duplicate(
        self, analysis: ImageAnalysis, *, guild_id: int | None = None
    ) -> tuple[ReferenceRecord, int] | None:
        """The closest pending or approved reference visible from the guild that this picture nearly repeats."""
        closest: tuple[ReferenceRecord, int] | None = None
        for reference in await self.store.list_references(status=None, guild_id=guild_id):
            if reference.status is ReferenceStatus.REJECTED or not reference.phash:
                continue
            same_model = reference.tagger == analysis.tagger
            distance = self.is_duplicate(
                analysis.phash,
                reference.phash,
                analysis.whole.tag_probs if same_model else None,
                reference.tag_vector if same_model else None,
            )
            if distance is not None and (closest is None or distance < closest[1]):
                closest = (reference, distance)
        return closest

    async def check_duplicate(self, analysis: ImageAnalysis, *, guild_id: int | None = None) -> None:
        """Raise DuplicateReference naming the reference this picture nearly repeats."""
        found = await self.find_duplicate(analysis, guild_id=guild_id)
        if found is not None:
            reference, distance = found
            character = await self.store.get_character(reference.character_id)
            name = character.name if character else f"character #{reference.character_id}"
            raise DuplicateReference(name, distance, reference.id)
