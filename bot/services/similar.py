"""`/similar`: the approved references a picture looks most like, with their pictures where they may be shown.

Characters are what identify ranks; this shows the pictures behind an answer, so a person sees which
references the bot compares with. The search uses the gallery's own measure (bot/recognition/nearest.py)
and the gallery's visibility rule (global references, and the asking guild's own); a reference's picture
is read only when the channel may show its rating (bot/services/references.may_show), else it is listed
by name with its picture withheld.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.recognition.analysis import Analyzer, InferenceJob
from bot.recognition.gallery import Gallery
from bot.recognition.nearest import Measure, NearReference, reference_search
from bot.services.identify import check_same_tagger, job_owner, refit_off_loop
from bot.services.reference_images import ReferenceImages
from bot.services.references import may_show
from bot.store.records import ReferenceStatus
from bot.store.repository import CharacterStore

log = logging.getLogger(__name__)

DEFAULT_TOP = 8
MAX_TOP = 12
"""At most this many references: a 4 x 3 grid still reads as thumbnails on a phone."""


@dataclass(frozen=True)
class SimilarReference:
    """One near reference: whose it is, how near, and its picture when this channel may show it."""

    reference_id: int
    character_id: int
    character: str
    series: str | None
    distance: float
    picture: bytes | None
    withheld: bool
    """True when the picture exists but its rating may not be shown in this channel."""


@dataclass(frozen=True)
class SimilarResult:
    """The nearest references, nearest first, and the measure that ordered them."""

    references: tuple[SimilarReference, ...]
    measure: Measure
    searched: int
    """References the guild may see that were compared."""
    notes: tuple[str, ...] = ()


class SimilarService:
    """Finds the nearest approved references of a picture among those a guild may see."""

    def __init__(self, store: CharacterStore, analyzer: Analyzer, gallery: Gallery, images: ReferenceImages) -> None:
        self.store = store
        self.analyzer = analyzer
        self.gallery = gallery
        self.images = images

    async def similar(
        self,
        image: bytes,
        *,
        guild_id: int | None,
        age_restricted: bool,
        top: int = DEFAULT_TOP,
        owner: int | None = None,
    ) -> SimilarResult:
        """Analyse the whole picture (as references are analysed) and return its nearest references.

        `owner` is who asked (a Discord user id): the pool holds only so many of one person's pictures at once.
        """
        job = InferenceJob(image=image, detect_faces=False, owner=job_owner(owner))
        analysis = await self.analyzer.analyze(job)
        check_same_tagger(analysis, self.gallery)
        whole = analysis.whole
        blocks = whole.blocks if analysis.features == self.gallery.features else {}
        await refit_off_loop(self.gallery)
        search = reference_search(
            self.gallery, whole.tag_probs, guild_id=guild_id, blocks=blocks, embedding=whole.embedding
        )
        limit = max(1, min(top, MAX_TOP))
        # Always off the loop: the block metric over 1000 references with the CNN blocks takes about 0.3 s.
        near = await asyncio.to_thread(search.nearest, limit)
        found = [await self._shown(item, guild_id, age_restricted) for item in near]
        return SimilarResult(
            references=tuple(item for item in found if item is not None),
            measure=search.measure,
            searched=len(search.reference_ids),
            notes=analysis.notes,
        )

    async def _shown(self, near: NearReference, guild_id: int | None, age_restricted: bool) -> SimilarReference | None:
        """The reference with its picture if the channel may show it; None when it left the gallery meanwhile."""
        record = await self.store.get_reference(near.reference_id)
        if record is None or record.status is not ReferenceStatus.APPROVED:
            return None
        if record.guild_id is not None and record.guild_id != guild_id:
            return None  # the gallery already hides it; the picture must never leave its guild either
        showable = may_show(record.rating, age_restricted=age_restricted)
        picture = None
        if showable and record.image_path:
            try:
                picture = self.images.read(record.image_path)
            except (OSError, ValueError):
                log.warning("reference picture %s of reference %s is missing", record.image_path, record.id)
        return SimilarReference(
            reference_id=record.id,
            character_id=near.character.id,
            character=near.character.name,
            series=near.character.series,
            distance=near.distance,
            picture=picture,
            withheld=not showable,
        )
