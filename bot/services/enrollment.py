"""Enrollment: community submissions (pending), operator enrollment (approved, one or a batch), review, removal.

Every path that changes references also updates the gallery at once, so an approved picture is
recognised by the very next query. Near-duplicates (see `duplicates`) are refused with the reason.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.errors import DuplicateReference, ImageRejected, NotFound, RateLimited, UsageError, UserFacingError
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from bot.recognition.gallery import Gallery
from bot.services.duplicates import DuplicateCheck
from bot.services.identify import check_same_tagger, job_owner
from bot.services.names import close_to_existing
from bot.services.reference_images import ReferenceImages
from bot.services.reference_quality import quality_issues
from bot.services.results import EnrollmentResult
from bot.services.stored_vectors import vectors_of
from bot.store.records import ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore
from bot.store.writes import SubmissionQuota

RATE_WINDOW = timedelta(hours=1)

LabelledError = TypeVar("LabelledError", bound=UserFacingError)


def labelled(label: str, error: LabelledError) -> LabelledError:
    """The same error (type and fields kept), its message led by the item it is about, so a batch names the culprit."""
    named = copy.copy(error)  # by UserFacingError.__reduce__: a fresh object with the same state
    named.user_message = f"{label}: {error.user_message}"
    return named


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
        self.duplicates = DuplicateCheck(store, gallery, max_distance=duplicate_hash_distance)
        """Refuses near-duplicates of stored references (and, in a batch, of each other)."""
        self.submissions_per_hour = submissions_per_hour
        self._enrolling = asyncio.Lock()
        """One enrollment at a time from the duplicate check to the gallery: two copies of one picture sent at once
        would otherwise both pass the check, and both would say they created the same new character."""

    async def analyze_reference(self, image: bytes, *, owner: int | None = None) -> ImageAnalysis:
        """Analyse a reference picture as a whole (no face split: the submitter, `owner`, chose the picture).

        The mirrored picture's blocks come too (a second view for the fitted metric), and its largest face's embedding.
        """
        job = InferenceJob(image=image, detect_faces=False, owner=job_owner(owner), mirror=True, largest_face=True)
        return await self.analyzer.analyze(job)

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
        """A community submission: rate-limited, stored as pending in the guild until a moderator reviews it.

        The limit is checked before the analysis (cheap refusal) and again in the transaction that stores it,
        so a burst of concurrent submissions stores at most the limit. A new name close to a shown character's
        is filed as typed, with those characters in `close_to` so the submitter can be asked "did you mean".
        """
        await self.check_rate_limit(user_id)
        analysis = await self.analyze_reference(image, owner=user_id)
        quota = SubmissionQuota(user_id, max(1, self.submissions_per_hour), RATE_WINDOW, datetime.now(UTC))
        close = await close_to_existing(self.store, name, guild_id=guild_id)  # before the name exists
        result = await self.enroll_analysis(
            name,
            image,
            analysis,
            status=ReferenceStatus.PENDING,
            guild_id=guild_id,
            series=series,
            submitted_by=user_id,
            actor_id=user_id,
            source=source,
            quota=quota,
        )
        return replace(result, close_to=tuple(close)) if result.created_character else result

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
        quota: SubmissionQuota | None = None,
    ) -> EnrollmentResult:
        """Store an analysed picture (bytes first, then the record in one transaction) and index it."""
        check_same_tagger(analysis, self.gallery)
        async with self._enrolling:
            await self.duplicates.check_duplicate(analysis, guild_id=guild_id)
            return await self._store(
                name,
                image,
                analysis,
                status=status,
                series=series,
                aliases=tuple(aliases),
                guild_id=guild_id,
                submitted_by=submitted_by,
                actor_id=actor_id,
                source=source,
                quota=quota,
            )

    async def enroll_approved_many(
        self,
        name: str,
        pictures: Sequence[tuple[str, bytes]],
        *,
        series: str | None = None,
        aliases: Sequence[str] = (),
        guild_id: int | None = None,
        actor_id: int | None = None,
    ) -> list[EnrollmentResult]:
        """Operator enrollment of several `(label, bytes)` pictures of one character: all of them, or none.

        Every picture is analysed and checked against the store and against the others before any is written,
        so one bad picture among ten refuses the batch with an error led by its label (a file path, an
        attachment's name), which also becomes the reference's `source`. Should a write still fail midway,
        the references already written are removed again.
        """
        if not pictures:
            raise UsageError("There are no pictures to enroll; give at least one.")
        analyses: list[ImageAnalysis] = []
        for label, image in pictures:
            try:
                analyses.append(await self.analyze_reference(image))
            except ImageRejected as error:
                raise labelled(label, error) from error
        for analysis in analyses:
            check_same_tagger(analysis, self.gallery)
        async with self._enrolling:
            for index, ((label, _), analysis) in enumerate(zip(pictures, analyses, strict=True)):
                try:
                    await self.duplicates.check_duplicate(analysis, guild_id=guild_id)
                except DuplicateReference as error:
                    raise labelled(label, error) from error
                for (earlier, _), other in zip(pictures[:index], analyses[:index], strict=True):
                    if self.duplicates.repeats(analysis, other) is not None:
                        raise UsageError(f"{label}: a near-duplicate of {earlier}; pass each picture once.")
            results: list[EnrollmentResult] = []
            try:
                for (label, image), analysis in zip(pictures, analyses, strict=True):
                    stored = await self._store(
                        name,
                        image,
                        analysis,
                        status=ReferenceStatus.APPROVED,
                        series=series,
                        aliases=tuple(aliases),
                        guild_id=guild_id,
                        actor_id=actor_id,
                        source=label,
                    )
                    results.append(stored)
            except BaseException:
                await self._undo(results, actor_id=actor_id)
                raise
        return results

    async def _store(self, name: str, image: bytes, analysis: ImageAnalysis, **record: Any) -> EnrollmentResult:
        """Write the picture, then its record (one transaction), then index it; the caller holds `_enrolling`.

        `record` is passed on to `CharacterStore.enroll` (status, series, aliases, guild_id, submitted_by, ...).
        """
        existing = await self.store.find_character(name, guild_id=record.get("guild_id"))
        relative_path, newly_written = self.images.save(image)
        try:
            character, reference = await self.store.enroll(
                name,
                **vectors_of(analysis),
                phash=analysis.phash,
                image_path=relative_path,
                rating=analysis.rating,
                quality=quality_issues(analysis),
                **record,
            )
        except BaseException:
            if newly_written:
                self.images.discard(relative_path)
            raise
        self.duplicates.note(reference)
        if reference.status is ReferenceStatus.APPROVED:
            self.gallery.add(character, reference)
        return EnrollmentResult(character=character, reference=reference, created_character=existing is None)

    async def _undo(self, results: Sequence[EnrollmentResult], *, actor_id: int | None) -> None:
        """Take back a batch's references (and the character it created), so a failed batch leaves nothing."""
        if results and results[0].created_character:
            await self.remove_character(results[0].character.id, actor_id=actor_id)
            return
        for result in results:
            await self.remove_reference(result.reference.id, actor_id=actor_id)

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
        self.duplicates.note(reference)
        character = await self.store.get_character(reference.character_id)
        if character is not None:
            self.gallery.add(character, reference)  # left out (and logged) when made by other models
        return reference

    async def reject(self, reference_id: int, *, reviewer_id: int) -> ReferenceRecord:
        """Reject a pending submission; it never enters the gallery."""
        reference = await self.store.review_reference(reference_id, approve=False, reviewer_id=reviewer_id)
        self.duplicates.forget(reference_id)
        self.gallery.remove_reference(reference_id)
        return reference

    async def remove_reference(self, reference_id: int, *, actor_id: int | None = None) -> None:
        """Delete a reference, its picture when nothing else uses it, and its place in the gallery."""
        reference = await self.store.get_reference(reference_id)
        if reference is None:
            raise NotFound(f"There is no reference #{reference_id}.")
        await self.store.remove_reference(reference_id, actor_id=actor_id)
        self.duplicates.forget(reference_id)
        self.gallery.remove_reference(reference_id)
        await self._discard_unused([reference.image_path])

    async def remove_character(self, character_id: int, *, actor_id: int | None = None) -> None:
        """Delete a character with all its references and pictures."""
        references = await self.store.list_references(status=None, character_id=character_id, all_scopes=True)
        paths = [reference.image_path for reference in references]
        await self.store.remove_character(character_id, actor_id=actor_id)
        self.duplicates.forget_character(character_id)
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
