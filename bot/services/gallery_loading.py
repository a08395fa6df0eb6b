"""Filling the in-memory gallery from the store: once at start, then per character changed elsewhere.

The gallery itself (`bot.recognition.gallery`) does no I/O; this is the one place that reads the
store into it, so a query never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TypeVar

from bot.recognition.cutoff import cutoff_measure
from bot.recognition.embedding import EmbeddingMetric
from bot.recognition.embedding_index import ANN_MIN_ROWS
from bot.recognition.gallery import Gallery
from bot.recognition.vocabulary import Vocabulary
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore

log = logging.getLogger(__name__)
T = TypeVar("T")


async def load_gallery(
    store: CharacterStore,
    vocabulary: Vocabulary,
    *,
    unknown_distance: float | None = None,
    metric: EmbeddingMetric | None = None,
    features: str | None = None,
    block_weights: Mapping[str, float] | None = None,
    shrinkage: float = 0.5,
    ann_min_rows: int | None = ANN_MIN_ROWS,
) -> Gallery:
    """A gallery of every approved reference of these models in the store, in every scope (one full metric fit).

    Without an embedder, the tagger's "unknown" cutoff stored by `waifu-bot eval --calibrate` comes with it.
    The block metric comes fitted (in a thread, beside the last query), so the first ranking does not wait for it.
    """
    calibrated = None
    if metric is None:
        measure = cutoff_measure(bool(block_weights))
        stored = await store.unknown_cutoff(vocabulary.tagger, measure)
        calibrated = stored.distance if stored is not None else None
    gallery = Gallery(
        vocabulary,
        unknown_distance=unknown_distance,
        metric=metric,
        features=features,
        block_weights=block_weights,
        shrinkage=shrinkage,
        calibrated=calibrated,
        ann_min_rows=ann_min_rows,
    )
    models = {"tagger": gallery.tagger, "embedder": gallery.embedder, "features": features}
    read = 0
    with collector_paused():
        async with store.gallery_stream(**models) as (characters, approved, partitions):
            gallery.reserve(approved, len(characters))
            with gallery.batch():  # the embedding shortlists are built once, after every partition
                async for columns in read_ahead(partitions):  # each into the gallery's arrays: no copy of the store
                    gallery.add_columns(characters, columns)
                    read += len(columns)
    # The first fit (what the first ranking would wait for) runs in a thread while the stale models are counted:
    # per model (every row read) only when the store holds approved references this load did not read.
    blocks = gallery.blocks if len(gallery) else None  # an empty gallery has nothing to fit: its first add does
    first_fit = None if blocks is None else asyncio.ensure_future(asyncio.to_thread(blocks.prepare_refit()))
    try:
        model_counts = await store.approved_model_counts() if approved > read else {}
    finally:
        if first_fit is not None and blocks is not None:
            blocks.install(await first_fit)
    stale: Counter[str] = Counter()
    for (tagger, embedder), count in model_counts.items():
        if not gallery.models.accepts(tagger, embedder):
            stale[f"{tagger} / {embedder or 'no embedder'}"] += count
    gallery.skipped = sum(stale.values())
    if stale:
        log.warning(
            "%d approved references were made by other models (%s) and are not used; run `waifu-bot reindex` "
            "to recompute them with %s / %s",
            gallery.skipped,
            ", ".join(f"{models}: {count}" for models, count in stale.most_common()),
            gallery.tagger,
            gallery.embedder or "no embedder",
        )
    return gallery


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a load builds its objects (back as it was after).

    Why: a load makes a few objects per character that live as long as the gallery (records, entries, their
    dicts), about a million at 100k characters, and the collector's full passes over every live object ran
    7 times during such a load: about 1 s of its start-up (4.1 s against 5.1 s, 4 interleaved runs).
    Refcounting still frees what the load drops; the little cyclic garbage it leaves waits for the next pass.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def read_ahead(partitions: AsyncIterator[T]) -> AsyncIterator[T]:
    """The partitions, the next one already being fetched (in the driver's thread) while this one is indexed."""
    source = aiter(partitions)
    following = asyncio.ensure_future(anext(source))
    try:
        while True:
            try:
                current = await following
            except StopAsyncIteration:
                return
            following = asyncio.ensure_future(anext(source))
            await asyncio.sleep(0)  # let the fetch start before the caller indexes `current` on this thread
            yield current
    finally:  # the caller stopped early (an error while indexing): the fetch in flight is not wanted
        following.cancel()
        following.add_done_callback(lambda fetch: fetch.cancelled() or fetch.exception())  # retrieved, not logged


async def reload_characters(gallery: Gallery, store: CharacterStore, character_ids: Iterable[int]) -> int:
    """Re-read only these characters (changed by another process): their record and approved references.

    Everything is read before the index changes, so a query never meets a half-reloaded character;
    a character that no longer exists, or has no approved reference of these models, leaves the index.
    Returns how many characters were reloaded.
    """
    current: dict[int, tuple[CharacterRecord | None, list[ReferenceRecord]]] = {}
    for character_id in sorted(set(character_ids)):
        record = await store.get_character(character_id)
        references = []
        if record is not None:
            references = await store.list_references(
                status=ReferenceStatus.APPROVED, character_id=character_id, all_scopes=True
            )
        current[character_id] = (record, references)
    for character_id, (record, references) in current.items():
        gallery.remove_character(character_id)
        for reference in references:
            if record is not None and gallery.accepts(reference):
                gallery.add(record, reference)
    return len(current)
