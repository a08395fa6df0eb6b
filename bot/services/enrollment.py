"""Enrollment: community submissions (pending), operator enrollment (approved), review and removal.

Every path that changes references also updates the gallery at once, so an approved picture is
recognised by the very next query. Near-duplicates (perceptual hash) are refused with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import imagehash
import numpy as np

from bot.errors import DuplicateReference, NotFound, RateLimited
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from bot.recognition.gallery import Gallery
from bot.services.identify import check_same_tagger
from bot.services.reference_images import ReferenceImages
from bot.services.results import EnrollmentResult
from bot.store.records import ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore

RATE_WINDOW = timedelta(hours=1)
DISTINCT_TAG_GAP = 0.5
"""A vocabulary tag that differs this much means two pictures are not copies of each other. Measured with the
palette tagger: a JPEG q40 copy at 70% size moves no tag by more than 0.27 (8 dataset pictures), while the same
drawing in another character's colours moves its hair tags by more than 0.8."""


def hash_distance(first: str, second: str) -> int:
    """Hamming distance between two perceptual hashes written as hex."""
    return imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second)


class EnrollmentService:
    """Adds, reviews and removes references, keeping store, image folder and gallery in step."""

    def __init__(
        self,
        store: CharacterStore,
        analyzer: Analyzer,
        gallery: Gallery,
        images: ReferenceImages,
        *,
        duplicate_hash_distance: int = 4,
        submissions_per_hour: int = 10,
    ) -> None:
        self.store = store
        self.analyzer = analyzer
        self.gallery = gallery
        self.images = images
        self.duplicate_hash_distance = duplicate_hash_distance
        self.submissions_per_hour = submissions_per_hour
        self._enrolling = asyncio.Lock()
        """One enrollment at a time from the duplicate check to the gallery: two copies of one picture sent at once
        would otherwise both pass the check, and both would say they created the same new character."""

    async def analyze_reference(self, image: bytes) -> ImageAnalysis:
        """Analyse a reference picture as a whole (no face split: the submitter chose the picture)."""
        return await self.analyzer.analyze(InferenceJob(image=image, detect_faces=False))

    async def submit(
        self,
        name: str,
        image: bytes,
        *,
        guild_id: int,
        user_id: int,
        series: str | None = None,
        source: str | None = None,
    ) -> EnrollmentResult:
        """A community submission: rate-limited, stored as pending in the guild until a moderator reviews it."""
        await self.check_rate_limit(user_id)
        analysis = await self.analyze_reference(image)
        return await self.enroll_analysis(
            name,
            image,
            analysis,
            status=ReferenceStatus.PENDING,
            guild_id=guild_id,
            series=series,
            submitted_by=user_id,
            actor_id=user_id,
            source=source,
        )

    async def enroll_approved(
        self,
        name: str,
        image: bytes,
        *,
        series: str | None = None,
        aliases: Sequence[str] = (),
        guild_id: int | None = None,
        actor_id: int | None = None,
        source: str | None = None,
    ) -> EnrollmentResult:
        """Operator enrollment: the reference is approved and in the gallery at once."""
        analysis = await self.analyze_reference(image)
        return await self.enroll_analysis(
            name,
            image,
            analysis,
            status=ReferenceStatus.APPROVED,
            series=series,
            aliases=aliases,
            guild_id=guild_id,
            actor_id=actor_id,
            source=source,
        )

    async def enroll_analysis(
        self,
        name: str,
        image: bytes,
        analysis: ImageAnalysis,
        *,
        status: ReferenceStatus,
        series: str | None = None,
        aliases: Sequence[str] = (),
        guild_id: int | None = None,
        submitted_by: int | None = None,
        actor_id: int | None = None,
        source: str | None = None,
    ) -> EnrollmentResult:
        """Store an analysed picture (bytes first, then the record in one transaction) and index it."""
        check_same_tagger(analysis, self.gallery)
        async with self._enrolling:
            await self.check_duplicate(analysis, guild_id=guild_id)
            existing = await self.store.find_character(name, guild_id=guild_id)
            relative_path, newly_written = self.images.save(image)
            try:
                character, reference = await self.store.enroll(
                    name,
                    series=series,
                    aliases=tuple(aliases),
                    guild_id=guild_id,
                    status=status,
                    tagger=analysis.tagger,
                    tag_vector=analysis.whole.tag_probs,
                    embedder=analysis.embedder,
                    embedding=analysis.whole.embedding,
                    phash=analysis.phash,
                    image_path=relative_path,
                    rating=analysis.rating,
                    submitted_by=submitted_by,
                    source=source,
                    actor_id=actor_id,
                )
            except BaseException:
                if newly_written:
                    self.images.discard(relative_path)
                raise
            if reference.status is ReferenceStatus.APPROVED:
                self.gallery.add(character, reference)
        return EnrollmentResult(character=character, reference=reference, created_character=existing is None)

    def is_duplicate(
        self, first_hash: str, second_hash: str, first_tags: np.ndarray | None, second_tags: np.ndarray | None
    ) -> int | None:
        """The hash distance when two pictures are near-duplicates, else None.

        The perceptual hash sees only grey levels, so a recoloured copy (another character drawn on the
        same layout) would pass as the same picture; when both have tag vectors of one tagger, a
        character-colour tag that moved by DISTINCT_TAG_GAP or more proves they differ.
        """
        distance = hash_distance(first_hash, second_hash)
        if distance > self.duplicate_hash_distance:
            return None
        if first_tags is not None and second_tags is not None and first_tags.shape == second_tags.shape:
            gap = np.abs(self.gallery.vocabulary.select(first_tags) - self.gallery.vocabulary.select(second_tags))
            if gap.size and float(gap.max()) >= DISTINCT_TAG_GAP:
                return None
        return distance

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

    async def check_rate_limit(self, user_id: int, *, now: datetime | None = None) -> None:
        """Raise RateLimited, with the wait until the oldest submission leaves the window, when over the cap."""
        now = now or datetime.now(UTC)
        limit = max(1, self.submissions_per_hour)
        if await self.store.count_submissions_since(user_id, now - RATE_WINDOW) < limit:
            return
        # Find, to the second, how long until fewer than `limit` submissions remain in the window.
        low, high = 0, int(RATE_WINDOW.total_seconds())
        while low < high:
            middle = (low + high) // 2
            since = now - RATE_WINDOW + timedelta(seconds=middle)
            if await self.store.count_submissions_since(user_id, since) < limit:
                high = middle
            else:
                low = middle + 1
        raise RateLimited(retry_after=float(max(1, low)))

    async def approve(self, reference_id: int, *, reviewer_id: int) -> ReferenceRecord:
        """Approve a pending submission; the gallery serves it from the next query on."""
        reference = await self.store.review_reference(reference_id, approve=True, reviewer_id=reviewer_id)
        character = await self.store.get_character(reference.character_id)
        if character is not None:
            self.gallery.add(character, reference)  # left out (and logged) when made by other models
        return reference

    async def reject(self, reference_id: int, *, reviewer_id: int) -> ReferenceRecord:
        """Reject a pending submission; it never enters the gallery."""
        reference = await self.store.review_reference(reference_id, approve=False, reviewer_id=reviewer_id)
        self.gallery.remove_reference(reference_id)
        return reference

    async def remove_reference(self, reference_id: int, *, actor_id: int | None = None) -> None:
        """Delete a reference, its picture when nothing else uses it, and its place in the gallery."""
        reference = await self.store.get_reference(reference_id)
        if reference is None:
            raise NotFound(f"There is no reference #{reference_id}.")
        await self.store.remove_reference(reference_id, actor_id=actor_id)
        self.gallery.remove_reference(reference_id)
        await self._discard_unused([reference.image_path])

    async def remove_character(self, character_id: int, *, actor_id: int | None = None) -> None:
        """Delete a character with all its references and pictures."""
        references = await self.store.list_references(status=None, character_id=character_id, all_scopes=True)
        paths = [reference.image_path for reference in references]
        await self.store.remove_character(character_id, actor_id=actor_id)
        self.gallery.remove_character(character_id)
        await self._discard_unused(paths)

    async def _discard_unused(self, paths: Sequence[str | None]) -> None:
        wanted = {path for path in paths if path}
        if not wanted:
            return
        for reference in await self.store.list_references(status=None, all_scopes=True):
            wanted.discard(reference.image_path)
        for path in wanted:
            self.images.discard(path)
