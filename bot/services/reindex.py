"""Re-embedding: recompute the vectors of references made by other models than the engine's.

A gallery never mixes vectors of two models, so after a model change the old references wait here; with the hub
face detector on, so do references never searched for a face (made before migration 0005, or with it off).
Each reference is committed on its own, so an interrupted run loses at most one picture's work and
the next run picks up where it stopped (references already current are skipped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.recognition.analysis import Analyzer, InferenceJob
from bot.recognition.identity import ModelIdentity
from bot.services.reference_images import ReferenceImages
from bot.services.stored_vectors import vectors_of
from bot.store.records import ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore
from models.errors import ImageRejected, ModelUnavailable

log = logging.getLogger(__name__)

REINDEXED_STATUSES = (ReferenceStatus.APPROVED, ReferenceStatus.PENDING)
"""Rejected references never serve, so their old vectors stay as they are."""


@dataclass(frozen=True)
class ReindexSummary:
    """What a reindex did: how many references it recomputed, left as they were, or could not redo."""

    tagger: str
    embedder: str | None
    checked: int
    updated: int
    current: int
    missing: tuple[int, ...]
    """References whose stored picture is gone: they keep their old vectors and stay out of the gallery."""
    unreadable: tuple[int, ...]
    """References whose stored picture the intake now rejects."""


def is_current(
    reference: ReferenceRecord, tagger: str, embedder: str | None, features: str | None = None, *, faces: bool = False
) -> bool:
    """Whether a reference's vectors were made by these models (`ModelIdentity`) and its blocks by this recipe.

    With `faces` (the hub detector configured) and an embedder, it also needs its largest face searched for.
    """
    same_blocks = features is None or reference.features == features
    face_known = not faces or embedder is None or reference.face_searched
    return ModelIdentity(tagger, embedder).accepts_reference(reference) and same_blocks and face_known


async def stale_references(
    store: CharacterStore, tagger: str, embedder: str | None, features: str | None = None, *, faces: bool = False
) -> tuple[list[ReferenceRecord], int]:
    """(references to recompute, how many are already current) over approved and pending ones, all scopes."""
    stale: list[ReferenceRecord] = []
    current = 0
    for status in REINDEXED_STATUSES:
        for reference in await store.list_references(status=status, all_scopes=True):
            if is_current(reference, tagger, embedder, features, faces=faces):
                current += 1
            else:
                stale.append(reference)
    stale.sort(key=lambda reference: reference.id)
    return stale, current


async def reindex(
    store: CharacterStore,
    analyzer: Analyzer,
    images: ReferenceImages,
    *,
    tagger: str,
    embedder: str | None,
    features: str | None = None,
    faces: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[ReferenceRecord], None] | None = None,
) -> ReindexSummary:
    """Recompute every stale reference (other models, blocks of another recipe, a face never searched), one by one.

    `faces`: the hub face detector is configured, so each reference also gets its largest face's embedding.
    """
    stale, current = await stale_references(store, tagger, embedder, features, faces=faces)
    if on_start is not None:
        on_start(len(stale))
    updated = 0
    missing: list[int] = []
    unreadable: list[int] = []
    for reference in stale:
        data = _read_picture(images, reference)
        if data is None:
            missing.append(reference.id)
        else:
            try:
                job = InferenceJob(image=data, detect_faces=False, mirror=True, largest_face=True)
                analysis = await analyzer.analyze(job)
            except ImageRejected as error:
                log.warning("reference %d: stored picture rejected: %s", reference.id, error.user_message)
                unreadable.append(reference.id)
            else:
                if not ModelIdentity(tagger, embedder).accepts(analysis.tagger, analysis.embedder):
                    raise ModelUnavailable(
                        "The analyzer runs other models than the settings name; restart and run reindex again.",
                        detail=f"analysis {analysis.tagger} / {analysis.embedder}, wanted {tagger} / {embedder}",
                    )
                if features is not None and analysis.features != features:
                    raise ModelUnavailable(
                        "The analyzer makes other feature blocks than the settings name; restart and reindex again.",
                        detail=f"analysis blocks {analysis.features}, wanted {features}",
                    )
                await store.update_reference_vectors(reference.id, **vectors_of(analysis))
                updated += 1
        if on_progress is not None:
            on_progress(reference)
    return ReindexSummary(
        tagger=tagger,
        embedder=embedder,
        checked=len(stale) + current,
        updated=updated,
        current=current,
        missing=tuple(missing),
        unreadable=tuple(unreadable),
    )


def _read_picture(images: ReferenceImages, reference: ReferenceRecord) -> bytes | None:
    """The stored picture of a reference, or None (logged) when it has none or the file is gone."""
    if not reference.image_path:
        log.warning("reference %d has no stored picture; it cannot be recomputed", reference.id)
        return None
    try:
        return images.read(reference.image_path)
    except (OSError, ValueError) as error:
        log.warning("reference %d: stored picture %s unreadable: %s", reference.id, reference.image_path, error)
        return None
