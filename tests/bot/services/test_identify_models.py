"""identify with hub-shaped models: the tagger's own character tags, CCIP end to end, and one region per face."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.app import Services, open_services
from bot.config import Settings
from bot.inference.engine import build_recognition_engine
from bot.recognition.analysis import InferenceJob
from tests.bot.fake_models import publish_ccip, publish_detector, rating_tags, write_wd_tagger
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode

# Mean channels of the 0..255 BGR input: row 0 blue, row 1 green, row 2 red.
TAGS = [
    *rating_tags(),
    ("red_hair", 0),
    ("blue_hair", 0),
    ("hatsune_miku", 4),
    ("saber_(fate)", 4),
    ("kagamine_rin_(vocaloid)", 4),
]
RED_ROW = {"general": 1.0, "red_hair": 1.0, "hatsune_miku": 0.9, "saber_(fate)": 0.88, "kagamine_rin_(vocaloid)": 0.5}
BLUE_ROW = {"general": 1.0, "blue_hair": 1.0}


def tagger_weights() -> np.ndarray:
    weights = np.zeros((3, len(TAGS)), dtype=np.float32)
    names = [name for name, _ in TAGS]
    for row, values in ((2, RED_ROW), (0, BLUE_ROW)):
        for name, probability in values.items():
            weights[row, names.index(name)] = probability / 255.0
    return weights


def solid(colour: tuple[int, int, int]) -> bytes:
    return encode(Image.new("RGB", (64, 64), colour))


@pytest.fixture
async def wd_services(settings: Settings, tmp_path: Path) -> AsyncIterator[Services]:
    folder = write_wd_tagger(tmp_path / "wd-test", TAGS, tagger_weights())
    opened = await open_services(settings.model_copy(update={"tagger": str(folder)}))
    yield opened
    await opened.close()


async def test_the_taggers_own_character_tags_are_matches_without_enrollment(wd_services: Services) -> None:
    result = await wd_services.identify.identify(solid((255, 0, 0)), top=5)
    (region,) = result.regions
    assert not region.unknown
    found = [(m.character, m.series, m.source, m.character_id) for m in region.matches]
    assert found == [("Hatsune Miku", None, "model", None), ("Saber", "Fate", "model", None)]
    assert region.matches[0].confidence == pytest.approx(0.9, abs=1e-4)
    assert region.matches[0].model_probability == pytest.approx(0.9, abs=1e-4)
    assert region.matches[1].distance == pytest.approx(1 - 0.88, abs=1e-4)
    nobody = (await wd_services.identify.identify(solid((0, 0, 255)))).regions[0]
    assert nobody.matches == () and nobody.unknown


async def test_a_gallery_namesake_is_merged_not_listed_twice(wd_services: Services) -> None:
    miku = await wd_services.enrollment.enroll_approved("Hatsune Miku", solid((250, 0, 0)), series="Vocaloid")
    await wd_services.enrollment.enroll_approved("Bea", solid((0, 0, 250)))
    (region,) = (await wd_services.identify.identify(solid((255, 0, 0)), top=5)).regions
    named = [match for match in region.matches if match.character == "Hatsune Miku"]
    assert len(named) == 1
    (match,) = named
    assert match.character_id == miku.character.id and match.series == "Vocaloid"
    assert match.source == "gallery"
    assert match.model_probability == pytest.approx(0.9, abs=1e-4)
    assert region.matches[0] == match
    assert {m.character for m in region.matches} == {"Hatsune Miku", "Saber", "Bea"}
    assert not region.unknown


def face_settings(settings: Settings, cache: Path, boxes: list[tuple[int, int, int, int]]) -> Settings:
    publish_detector(cache, boxes, imgsz=(320, 640))
    recognition = settings.recognition.model_copy(update={"face_detection": True})
    return settings.model_copy(update={"model_cache_dir": cache, "recognition": recognition})


LEFT_FACE = (60, 20, 260, 220)
RIGHT_FACE = (380, 20, 580, 220)


def two_characters(seed: int) -> Image.Image:
    canvas = Image.new("RGB", (640, 320))
    canvas.paste(draw_character(BLONDE, seed=seed), (0, 0))
    canvas.paste(draw_character(BLUE_HAIR, seed=seed + 1), (320, 0))
    return canvas


def test_each_face_is_analysed_on_its_own_grown_crop(settings: Settings, tmp_path: Path) -> None:
    engine = build_recognition_engine(face_settings(settings, tmp_path / "hub", [LEFT_FACE, RIGHT_FACE]))
    image = two_characters(60)
    analysis = engine.analyze(InferenceJob(image=encode(image)))
    assert {face.box for face in analysis.faces} == {LEFT_FACE, RIGHT_FACE}
    assert analysis.regions == analysis.faces
    # Each 200 px box grows by 50 px a side, clipped to the picture.
    crops = {LEFT_FACE: (10, 0, 310, 270), RIGHT_FACE: (330, 0, 630, 270)}
    for face in analysis.faces:
        expected = engine.tagger.predict(image.crop(crops[face.box]))
        np.testing.assert_allclose(face.tag_probs, expected, atol=1e-5)
        assert face.detection_score is not None and face.detection_score > 0.25
    assert engine.analyze(InferenceJob(image=encode(image), detect_faces=False)).faces == ()


def test_face_boxes_of_a_draft_decoded_jpeg_are_in_upload_pixels(settings: Settings, tmp_path: Path) -> None:
    engine = build_recognition_engine(face_settings(settings, tmp_path / "hub", [LEFT_FACE, RIGHT_FACE]))
    engine.draft = 320  # a 2560x1280 JPEG then decodes at 1/4 scale: 640x320, the detector's own size
    large = two_characters(60).resize((2560, 1280), Image.Resampling.NEAREST)
    analysis = engine.analyze(InferenceJob(image=encode(large, "JPEG", quality=95)))
    assert (analysis.width, analysis.height) == (2560, 1280)
    scaled = {tuple(4 * side for side in box) for box in (LEFT_FACE, RIGHT_FACE)}
    assert {face.box for face in analysis.faces} == scaled


def test_one_face_means_the_whole_picture_is_identified(settings: Settings, tmp_path: Path) -> None:
    engine = build_recognition_engine(face_settings(settings, tmp_path / "hub", [LEFT_FACE]))
    analysis = engine.analyze(InferenceJob(image=encode(two_characters(60))))
    assert [face.box for face in analysis.faces] == [LEFT_FACE]
    assert analysis.regions == (analysis.whole,) and analysis.whole.box is None


async def test_two_characters_side_by_side_are_told_apart(settings: Settings, tmp_path: Path) -> None:
    services = await open_services(face_settings(settings, tmp_path / "hub", [LEFT_FACE, RIGHT_FACE]))
    try:
        for seed in range(1, 4):
            await services.enrollment.enroll_approved("Alice", picture(BLONDE, seed))
            await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, seed))
        result = await services.identify.identify(encode(two_characters(70)))
    finally:
        await services.close()
    assert len(result.regions) == 2
    best = {region.box: region.matches[0].character for region in result.regions}
    assert best == {LEFT_FACE: "Alice", RIGHT_FACE: "Bea"}


CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711])


def expected_embedding(image: Image.Image, weights: np.ndarray) -> np.ndarray:
    """CCIP input computed here (bilinear 384 stretch, /255, CLIP mean/std), then the graph's channel means @ W."""
    pixels = np.asarray(image.convert("RGB").resize((384, 384), Image.Resampling.BILINEAR), dtype=np.float64) / 255
    return (((pixels - CLIP_MEAN) / CLIP_STD).mean(axis=(0, 1))) @ weights


def cosine_difference(first: np.ndarray, second: np.ndarray) -> float:
    return float(1 - first @ second / (np.linalg.norm(first) * np.linalg.norm(second)))


async def test_ccip_ranks_by_best_k_differences_end_to_end(settings: Settings, tmp_path: Path) -> None:
    weights = np.random.default_rng(3).normal(size=(3, 768)).astype(np.float32)
    identity = publish_ccip(tmp_path / "hub", weights=weights)
    recognition = settings.recognition.model_copy(update={"ccip": True})
    ccip_settings = settings.model_copy(update={"model_cache_dir": tmp_path / "hub", "recognition": recognition})
    services = await open_services(ccip_settings)
    designs = {"Alice": BLONDE, "Bea": BLUE_HAIR}
    try:
        for name, design in designs.items():
            for seed in range(1, 5):
                enrolled = await services.enrollment.enroll_approved(name, picture(design, seed))
                assert enrolled.reference.embedder == identity
        query = draw_character(BLONDE, seed=80)
        (region,) = (await services.identify.identify(encode(query), top=2)).regions
        explained = await services.whynot.whynot(encode(query), "Bea")
    finally:
        await services.close()
    query_vector = expected_embedding(query, weights)
    expected = {}
    for name, design in designs.items():
        differences = sorted(
            cosine_difference(query_vector, expected_embedding(draw_character(design, seed=seed), weights))
            for seed in range(1, 5)
        )
        expected[name] = float(np.mean(differences[:3]))
    order = sorted(expected, key=expected.get)
    assert [match.character for match in region.matches] == order
    for match in region.matches:
        assert match.distance == pytest.approx(expected[match.character], abs=1e-4)
    assert region.unknown == (expected[order[0]] > 0.178)
    assert explained.measure == "embedding"
    assert explained.distance == pytest.approx(expected["Bea"], abs=1e-4)
    assert explained.rank == order.index("Bea") + 1
    assert explained.tag_distance is not None and explained.evidence
