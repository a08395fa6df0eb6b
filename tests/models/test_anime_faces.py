"""The animeface ctypes adapter; runs only with the `faces` extra installed (and the probe test with the datasets)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("animeface")

from models.anime_faces import _EXPECTED_OFFSETS, AnimeFaceDetector, _ImagingMemoryInstance, self_check

PROBE = Path("/work/shared/datasets/gotoubun-no-discriminator/nakano_ichika/1552019134407.png")


def test_layout_matches_the_offsets_the_extension_reads() -> None:
    for name, offset in _EXPECTED_OFFSETS.items():
        assert getattr(_ImagingMemoryInstance, name).offset == offset
    assert ctypes.sizeof(_ImagingMemoryInstance) == 88


def test_self_check_passes_and_blank_pictures_have_no_face() -> None:
    detector = AnimeFaceDetector()
    assert self_check(detector=detector) is None
    assert detector.detect_array(np.zeros((1, 1, 3), dtype=np.uint8)) == []
    assert detector.detect(Image.new("L", (300, 200), 128)) == []


@pytest.mark.skipif(not PROBE.is_file(), reason="the evaluation dataset is not on this machine")
def test_a_real_face_is_found_deterministically_in_original_pixels() -> None:
    probe = Image.open(PROBE)
    assert self_check(probe) is None
    faces = AnimeFaceDetector(max_side=400).detect(probe)
    assert faces == AnimeFaceDetector(max_side=400).detect(probe)
    assert faces and faces[0].score > 0.9
    x0, y0, x1, y1 = faces[0].box
    assert 0 <= x0 < x1 <= probe.width and 0 <= y0 < y1 <= probe.height
