"""The services of one process, opened and closed together; the CLI and the Discord client both use this."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.config import Settings
from bot.inference import NoAnalysis, identity_only_metric
from bot.inference.engine import build_recognition_engine, expected_features
from bot.inference.local import LocalAnalyzer
from bot.inference.model_choice import open_embedding_metric, read_tagger_tags, session_config
from bot.recognition.analysis import Analyzer
from bot.recognition.collector import freeze_what_is_loaded, thaw
from bot.recognition.gallery import Gallery
from bot.recognition.math_threads import beside_the_loop, leave_a_core_for_the_loop
from bot.recognition.vocabulary import select_vocabulary
from bot.services.characters import CharacterService
from bot.services.enrollment import EnrollmentService
from bot.services.gallery_loading import load_gallery, reload_characters
from bot.services.guild_settings import GuildSettings
from bot.services.identify import IdentifyService
from bot.services.names import NameSearch
from bot.services.reference_images import ReferenceImages
from bot.services.references import ReferencePictures
from bot.services.review import ReviewService
from bot.services.similar import SimilarService
from bot.services.tags import TagService
from bot.services.whynot import WhyNotService
from bot.store.changes import ChangeFeed
from bot.store.guild_settings import GuildSettingsStore
from bot.store.repository import CharacterStore


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
    guild_settings: GuildSettings
    """Each guild's moderator role and auto-identify channels, in the store's database (one engine)."""
    changes: ChangeFeed
    """The audit log followed from the moment the gallery was loaded."""
    similar: SimilarService
    tags: TagService
    owns_analyzer: bool = field(default=False, repr=False)
    """Whether `open_services` created the analyzer (so `close` releases it) or a caller lent it (and closes it)."""
    _unapplied: set[int] = field(default_factory=set, init=False, repr=False)
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def refresh(self) -> int:
        """Reload the characters other processes changed since the last refresh; returns how many.

        A character this process changed itself is reloaded too, which is harmless. Characters whose
        reload failed are kept and retried by the next call, so no change is lost to a database hiccup.
        """
        async with self._refreshing:
            self._unapplied |= await self.changes.poll()
            if not self._unapplied:
                return 0
            reloaded = await reload_characters(self.gallery, self.store, self._unapplied)
            await self.enrollment.duplicates.catch_up()  # new submissions of other processes, before anyone asks
            self._unapplied.clear()
            return reloaded

    async def close(self) -> None:
        """Release what `open_services` opened: the database connections, and the analyzer only if it made it."""
        try:
            if self.owns_analyzer:
                await self.analyzer.close()
        finally:
            thaw()
            await self.store.close()


async def open_services(settings: Settings, *, analyzer: Analyzer | None = None) -> Services:
    """Open the store (migrating it) and load the gallery; analyze with `analyzer` or, if None, one made here.

    A given analyzer (e.g. the started pool) stays its caller's: `Services.close` leaves it open.
    """
    leave_a_core_for_the_loop()  # the gallery's exact rankings must not take every core from the event loop
    identity, tags = await asyncio.to_thread(read_tagger_tags, settings)
    vocabulary = select_vocabulary(tags, tagger=identity, mcut=settings.recognition.tag_mcut)
    # The gallery compares embeddings with the small metrics model in this process, even when a pool embeds;
    # a command that analyses nothing needs only which embedder made the vectors, so it loads no model.
    if isinstance(analyzer, NoAnalysis):
        metric = await asyncio.to_thread(identity_only_metric, settings)
    else:
        metric = await asyncio.to_thread(open_embedding_metric, settings, beside_the_loop(session_config(settings)))
    store = await CharacterStore.open(
        settings.resolved_database_url(), reference_dir=settings.reference_dir, start_empty=settings.start_empty
    )
    owns_analyzer = analyzer is None
    try:
        changes = await ChangeFeed.start(store)  # before the gallery loads, so no change falls in between
        if analyzer is None:
            analyzer = LocalAnalyzer(await asyncio.to_thread(build_recognition_engine, settings))
        gallery = await load_gallery(
            store,
            vocabulary,
            unknown_distance=settings.recognition.unknown_distance,
            metric=metric,
            features=await asyncio.to_thread(expected_features, settings),
            block_weights=settings.recognition.block_weights if settings.recognition.feature_blocks else None,
            shrinkage=settings.recognition.shrinkage,
            ann_min_rows=settings.recognition.ann_min_rows,
        )
        enrollment = EnrollmentService(
            store,
            analyzer,
            gallery,
            ReferenceImages(settings.reference_dir),
            duplicate_hash_distance=settings.recognition.duplicate_hash_distance,
            submissions_per_hour=settings.enrollment.submissions_per_hour,
        )
        await enrollment.duplicates.load()  # one narrow query; after the feed started, like the gallery
    except BaseException:
        try:
            if owns_analyzer and analyzer is not None:
                await analyzer.close()
        finally:
            await store.close()
        raise
    freeze_what_is_loaded()  # the gallery stays loaded: no full collection should walk it again (collector.py)
    images = enrollment.images
    recognition = settings.recognition
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
        guild_settings=GuildSettings(GuildSettingsStore.beside(store)),
        changes=changes,
        similar=SimilarService(store, analyzer, gallery, images),
        tags=TagService(analyzer, tags, tagger=identity, mcut=settings.recognition.tag_mcut),
        owns_analyzer=owns_analyzer,
    )
