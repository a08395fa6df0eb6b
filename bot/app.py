"""The services of one process, opened and closed together; the CLI and the Discord client both use this."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.analysis import Analyzer
from bot.config import Settings
from bot.engine import LocalAnalyzer, create_engine, read_tagger_tags, session_config
from bot.fusion import open_embedding_metric
from bot.gallery import Gallery
from bot.reference_images import ReferenceImages
from bot.services.characters import CharacterService
from bot.services.enrollment import EnrollmentService
from bot.services.identify import IdentifyService
from bot.services.names import NameSearch
from bot.services.references import ReferencePictures
from bot.services.review import ReviewService
from bot.services.whynot import WhyNotService
from bot.store.repository import CharacterStore
from bot.vocabulary import select_vocabulary


@dataclass
class Services:
    """Everything a client needs: the store, the analyzer, the gallery and the services over them."""

    settings: Settings
    store: CharacterStore
    analyzer: Analyzer
    gallery: Gallery
    images: ReferenceImages
    identify: IdentifyService
    whynot: WhyNotService
    enrollment: EnrollmentService
    characters: CharacterService
    review: ReviewService
    pictures: ReferencePictures
    names: NameSearch

    async def close(self) -> None:
        """Release the analyzer (workers, sessions) and the database connections."""
        try:
            await self.analyzer.close()
        finally:
            await self.store.close()


async def open_services(settings: Settings, *, analyzer: Analyzer | None = None) -> Services:
    """Open the store (migrating it), the analyzer (unless given, e.g. the pool) and load the gallery."""
    identity, tags = await asyncio.to_thread(read_tagger_tags, settings)
    vocabulary = select_vocabulary(tags, tagger=identity)
    # The gallery compares embeddings with the small metrics model in this process, even when a pool embeds.
    metric = await asyncio.to_thread(open_embedding_metric, settings, session_config(settings))
    store = await CharacterStore.open(settings.resolved_database_url())
    try:
        if analyzer is None:
            analyzer = LocalAnalyzer(await asyncio.to_thread(create_engine, settings))
        gallery = await Gallery.load(
            store, vocabulary, unknown_distance=settings.recognition.unknown_distance, metric=metric
        )
    except BaseException:
        await store.close()
        raise
    images = ReferenceImages(settings.reference_dir)
    recognition = settings.recognition
    enrollment = EnrollmentService(
        store,
        analyzer,
        gallery,
        images,
        duplicate_hash_distance=recognition.duplicate_hash_distance,
        submissions_per_hour=settings.discord.submissions_per_hour,
    )
    return Services(
        settings=settings,
        store=store,
        analyzer=analyzer,
        gallery=gallery,
        images=images,
        identify=IdentifyService(analyzer, gallery, top_k=recognition.top_k),
        whynot=WhyNotService(store, analyzer, gallery),
        enrollment=enrollment,
        characters=CharacterService(store, gallery),
        review=ReviewService(store, images, enrollment),
        pictures=ReferencePictures(store, images),
        names=NameSearch(store),
    )
