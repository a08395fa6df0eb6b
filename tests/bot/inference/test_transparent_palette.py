"""A palette picture with a transparent colour reaches each model family as its reference library would feed it.

WD (SmilingWolf's wd-tagger: RGBA, then alpha-composited on white) sees white where the picture is transparent.
CCIP and the YOLO face detector are fed by deepghs/imgutils' `load_image(mode="RGB")`, whose paste over white
fails for a palette picture, so they see the transparent entry's own colour (models.rgb.imgutils_view). The
test picture's transparent entry is a dark red no other pixel has, so each family's input is told apart.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.config import Settings
from bot.inference.engine import build_recognition_engine
from bot.recognition.analysis import InferenceJob
from models.intake import load_image
from models.rgb import imgutils_view, to_rgb
from tests.bot.fake_models import publish_ccip, publish_detector, rating_tags, write_wd_tagger

KEY = (64, 0, 0)
"""The transparent palette entry: dark red, so the detector's score (mean red) says which pixels it saw."""
INK = (255, 0, 0)
FACE = (120, 60, 320, 260)


def keyed_palette_png(size: tuple[int, int] = (640, 320)) -> tuple[bytes, Image.Image]:
    """A P-mode PNG: transparent KEY everywhere but an INK square; also the picture itself."""
    picture = Image.new("P", size, 0)
    picture.putpalette([*KEY, *INK] + [0] * (256 * 3 - 6))
    picture.paste(1, (200, 100, 264, 164))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", transparency=0)
    return buffer.getvalue(), Image.open(io.BytesIO(buffer.getvalue()))


def test_imgutils_keeps_the_key_colour_of_palette_pictures_only() -> None:
    data, picture = keyed_palette_png()
    assert picture.mode == "P" and picture.info["transparency"] == 0
    assert to_rgb(picture).getpixel((0, 0)) == (255, 255, 255)
    assert imgutils_view(picture).getpixel((0, 0)) == KEY
    assert to_rgb(imgutils_view(picture)).getpixel((0, 0)) == KEY  # the key is no longer transparent to anyone
    assert imgutils_view(picture.convert("PA")).getpixel((0, 0)) == KEY
    assert imgutils_view(picture.convert("RGBA")) is None  # RGBA and LA: white, as to_rgb paints them
    assert imgutils_view(Image.new("LA", (2, 2), (9, 0))) is None
    keyed_rgb = Image.new("RGB", (2, 2), KEY)
    keyed_rgb.info["transparency"] = KEY
    assert to_rgb(keyed_rgb).getpixel((0, 0)) == (255, 255, 255) and imgutils_view(keyed_rgb).getpixel((0, 0)) == KEY
    assert imgutils_view(Image.new("P", (2, 2))) is None  # no transparency: one picture for every model
    loaded = load_image(data)
    assert loaded.image.getpixel((0, 0)) == (255, 255, 255) and loaded.hub_image.getpixel((0, 0)) == KEY
    assert loaded.hub_image.size == loaded.image.size


@pytest.fixture
def engine(settings: Settings, tmp_path: Path):
    weights = np.random.default_rng(3).uniform(0.0, 0.01, size=(3, 5)).astype(np.float32)
    tagger = write_wd_tagger(tmp_path / "wd", [*rating_tags(), ("red_hair", 0)], weights)
    publish_ccip(tmp_path / "hub")
    publish_detector(tmp_path / "hub", [FACE], imgsz=(320, 640))
    recognition = settings.recognition.model_copy(update={"ccip": True, "face_detection": True})
    return build_recognition_engine(
        settings.model_copy(
            update={"tagger": str(tagger), "model_cache_dir": tmp_path / "hub", "recognition": recognition}
        )
    )


def test_each_family_sees_the_transparent_colour_as_its_reference_does(engine) -> None:
    data, picture = keyed_palette_png()
    white = to_rgb(picture)
    keyed = Image.fromarray(np.asarray(picture.convert("RGB")))  # the stored colours, no transparency left
    analysis = engine.analyze(InferenceJob(image=data))
    # WD: white, as SmilingWolf composites it.
    np.testing.assert_allclose(analysis.whole.tag_probs, engine.tagger.predict(white), atol=1e-6)
    assert not np.allclose(engine.tagger.predict(white), engine.tagger.predict(keyed), atol=1e-6)
    # CCIP: the key colour, as imgutils converts it.
    np.testing.assert_allclose(analysis.whole.embedding, engine.embedder.embed(keyed), atol=1e-5)
    assert not np.allclose(engine.embedder.embed(white), engine.embedder.embed(keyed), atol=1e-3)
    # YOLO: scored on the mean red of the keyed picture (white would score 1.0).
    (face,) = analysis.faces
    mean_red = np.asarray(keyed, dtype=np.float64)[..., 0].mean() / 255
    assert face.box == FACE and face.detection_score == pytest.approx(mean_red, abs=1e-4)
    assert mean_red < 0.5
    crop = (70, 10, 370, 310)  # FACE grown by 25% a side
    np.testing.assert_allclose(face.embedding, engine.embedder.embed(keyed.crop(crop)), atol=1e-5)
    np.testing.assert_allclose(face.tag_probs, engine.tagger.predict(white.crop(crop)), atol=1e-6)
    reference = engine.analyze(InferenceJob(image=data, largest_face=True))  # a reference's face, as a query's
    np.testing.assert_allclose(reference.face_embedding, face.embedding, atol=1e-6)
