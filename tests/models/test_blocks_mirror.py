"""A reference's mirrored view: the same model runs on the mirrored crops, and the gallery counts both views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from models.blocks import (
    CNN_HEAD,
    CNN_WHOLE,
    MIRROR_PREFIX,
    PALETTE_FACE,
    PALETTE_HEAD,
    BlockExtractor,
    head_box,
    split_mirror,
    with_mirror,
)
from models.cnn_features import CnnFeatures
from models.face_detector import Detection
from models.palette import PALETTE_NAME, PALETTE_VERSION, ensure_palette_tagger
from models.sessions import SessionConfig
from models.tagger import load_tagger
from tests.drawing import PINK_HAIR, draw_character

FACE = (100, 60, 200, 170)


class OneFace:
    """A detector that always finds the same face box (the mirrored view must not need the detector)."""

    identity = "one-face@test"
    input_size = (256, 256)

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: Image.Image) -> list[Detection]:
        self.calls += 1
        return [Detection(FACE, "face", 0.9)]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    folder = ensure_palette_tagger(Path(tmp_path_factory.mktemp("palette")))
    palette = load_tagger(folder, name=PALETTE_NAME, version=PALETTE_VERSION, session_config=SessionConfig())
    return palette, CnnFeatures(SessionConfig())


def test_the_mirrored_view_is_the_blocks_of_the_mirrored_crops(models) -> None:
    palette, cnn = models
    detector = OneFace()
    extractor = BlockExtractor(palette, cnn, detector)
    picture = draw_character(PINK_HAIR, seed=4)
    plain = extractor.extract(picture, all_faces=False)
    both = extractor.extract(picture, all_faces=False, mirror=True)
    assert detector.calls == 2  # once per extraction: the mirrored view reuses the face found
    assert plain.mirrored == {}
    for name, vector in plain.blocks.items():
        np.testing.assert_allclose(both.blocks[name], vector, rtol=1e-4, atol=1e-5)
    head = picture.crop(head_box(FACE, picture.size))
    expected_cnn, _ = cnn.run([ImageOps.mirror(picture), ImageOps.mirror(head)])
    assert set(both.mirrored) == {CNN_WHOLE, CNN_HEAD}  # the palette's regions are symmetric: never mirrored
    np.testing.assert_allclose(both.mirrored[CNN_WHOLE], expected_cnn[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(both.mirrored[CNN_HEAD], expected_cnn[1], rtol=1e-4, atol=1e-4)
    mirrored_palette = palette.predict_batch([ImageOps.mirror(picture.crop(FACE)), ImageOps.mirror(head)])
    np.testing.assert_allclose(mirrored_palette[0], both.blocks[PALETTE_FACE], atol=1e-5)  # why not mirrored
    np.testing.assert_allclose(mirrored_palette[1], both.blocks[PALETTE_HEAD], atol=1e-5)
    assert not np.allclose(both.mirrored[CNN_WHOLE], both.blocks[CNN_WHOLE])  # the drawing is not symmetric


def test_without_a_face_only_the_whole_picture_is_mirrored(models) -> None:
    palette, cnn = models
    picture = draw_character(PINK_HAIR, seed=5)
    both = BlockExtractor(palette, cnn, None).extract(picture, mirror=True)
    assert set(both.mirrored) == {CNN_WHOLE}


def test_stored_blocks_split_back_into_the_two_views() -> None:
    own = {CNN_WHOLE: np.ones(3, dtype=np.float32)}
    mirrored = {CNN_WHOLE: np.zeros(3, dtype=np.float32)}
    stored = with_mirror(own, mirrored)
    assert set(stored) == {CNN_WHOLE, MIRROR_PREFIX + CNN_WHOLE}
    back_own, back_mirrored = split_mirror(stored)
    assert back_own.keys() == own.keys() and back_mirrored.keys() == mirrored.keys()
    assert split_mirror(own) == (own, {})
