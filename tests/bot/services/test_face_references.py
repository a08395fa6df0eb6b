"""Faces against faces, end to end with hub-shaped models: each reference keeps its largest face's CCIP embedding,
a picture with several faces is identified face crop against face crop, and reindex fills the faces of older ones.

The fake CCIP embeds a picture's mean colour (after CLIP normalisation) and the fake detector always proposes the
same two boxes, so every picture below is painted where the boxes' grown crops fall and the answer is known.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bot.app import open_services
from bot.config import Settings
from bot.inference import create_analyzer
from bot.inference.engine import FACE_MARGIN, build_recognition_engine
from bot.recognition.analysis import InferenceJob
from bot.services.reindex import reindex, stale_references
from models.face_detector import expand_box
from tests.bot.fake_models import publish_ccip, publish_detector
from tests.drawing import encode

LARGE_FACE = (60, 20, 260, 220)
SMALL_FACE = (400, 40, 560, 200)
"""The detector's two boxes on a 640 x 320 picture; the left one is the larger, so a reference's face is the left."""
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def painted(background: tuple[int, int, int], **crops: tuple[int, int, int]) -> bytes:
    """A 640 x 320 picture of one colour, with the grown crop of the `large` and/or `small` face painted over."""
    image = Image.new("RGB", (640, 320), background)
    draw = ImageDraw.Draw(image)
    for which, colour in crops.items():
        box = expand_box(LARGE_FACE if which == "large" else SMALL_FACE, image.size, FACE_MARGIN)
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    return encode(image)


def hub_settings(settings: Settings, cache: Path, *, faces: bool = True) -> Settings:
    publish_ccip(cache, weights=np.random.default_rng(11).normal(size=(3, 768)).astype(np.float32))
    publish_detector(cache, [LARGE_FACE, SMALL_FACE], imgsz=(320, 640))
    recognition = settings.recognition.model_copy(update={"ccip": True, "face_detection": faces})
    return settings.model_copy(update={"model_cache_dir": cache, "recognition": recognition})


def test_a_reference_keeps_the_embedding_of_its_largest_face(settings: Settings, tmp_path: Path) -> None:
    engine = build_recognition_engine(hub_settings(settings, tmp_path / "hub"))
    data = painted(BLUE, large=RED, small=GREEN)
    analysis = engine.analyze(InferenceJob(image=data, detect_faces=False, largest_face=True))
    assert analysis.face_searched and analysis.faces == ()
    crop = Image.open(io.BytesIO(data)).convert("RGB").crop(expand_box(LARGE_FACE, (640, 320), FACE_MARGIN))
    np.testing.assert_allclose(analysis.face_embedding, engine.embedder.embed_batch([crop])[0], atol=1e-4)
    plain = engine.analyze(InferenceJob(image=data, detect_faces=False))
    assert plain.face_embedding is None and not plain.face_searched  # only reference jobs ask for it


async def test_face_crops_are_matched_with_face_crops_not_whole_pictures(settings: Settings, tmp_path: Path) -> None:
    services = await open_services(hub_settings(settings, tmp_path / "hub"))
    try:
        # Alice: a red face on blue; Bea: a green face on red, so her whole picture is the redder one.
        await services.enrollment.enroll_approved("Alice", painted(BLUE, large=RED))
        stored = await services.enrollment.enroll_approved("Bea", painted(RED, large=GREEN))
        assert stored.reference.face_searched and stored.reference.face_embedding is not None
        two = await services.identify.identify(painted(BLUE, large=RED, small=GREEN))
    finally:
        await services.close()
    assert {region.box for region in two.regions} == {LARGE_FACE, SMALL_FACE}
    best = {region.box: region.matches[0].character for region in two.regions}
    # Before: the red face crop met whole pictures and Bea's redder whole won it.
    assert best == {LARGE_FACE: "Alice", SMALL_FACE: "Bea"}


async def test_reindex_fills_the_faces_of_references_made_without_the_detector(
    settings: Settings, tmp_path: Path
) -> None:
    without = hub_settings(settings, tmp_path / "hub", faces=False)
    services = await open_services(without)
    try:
        made = await services.enrollment.enroll_approved("Alice", painted(BLUE, large=RED))
        assert not made.reference.face_searched and made.reference.face_embedding is None
        tagger, embedder = made.reference.tagger, made.reference.embedder
        features = made.reference.features
        assert await stale_references(services.store, tagger, embedder, features) == ([], 1)
        stale, _ = await stale_references(services.store, tagger, embedder, features, faces=True)
        assert [reference.id for reference in stale] == [made.reference.id]
        with_faces = hub_settings(settings, tmp_path / "hub")
        analyzer = create_analyzer(with_faces)
        try:
            summary = await reindex(
                services.store,
                analyzer,
                services.images,
                tagger=tagger,
                embedder=embedder,
                features=features,
                faces=True,
            )
            again = await reindex(
                services.store,
                analyzer,
                services.images,
                tagger=tagger,
                embedder=embedder,
                features=features,
                faces=True,
            )
        finally:
            await analyzer.close()
        filled = await services.store.get_reference(made.reference.id)
    finally:
        await services.close()
    assert summary.updated == 1 and again.updated == 0 and again.current == 1
    assert filled.face_searched and filled.face_embedding is not None
    np.testing.assert_array_equal(filled.embedding, made.reference.embedding)  # the whole picture's stays
