"""The real hub models on drawn pictures: skipped unless `waifu-bot models pull` has cached them.

Set WAIFU_MODEL_CACHE_DIR to look in a cache other than the default Hugging Face one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from models import download
from models.registry import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, ModelKind, cards_of_kind, get_card
from models.sessions import SessionConfig
from models.tagger import TagCategory, load_tagger
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR, draw_character

pytestmark = pytest.mark.realmodel

CACHE = Path(os.environ["WAIFU_MODEL_CACHE_DIR"]) if os.environ.get("WAIFU_MODEL_CACHE_DIR") else None
CONFIG = SessionConfig(intra_op_threads=2)
PICTURES = [
    draw_character(design, seed=seed, size=(480, 360)) for seed, design in enumerate((BLONDE, BLUE_HAIR, PINK_HAIR))
]


def _require(name: str) -> None:
    if not download.is_present(get_card(name), CACHE):
        pytest.skip(f"{name} is not in the model cache; run `waifu-bot models pull {name}`")


@pytest.mark.parametrize("name", [card.name for card in cards_of_kind(ModelKind.TAGGER)])
def test_wd_tagger_gives_probabilities_and_sensible_ratings(name: str) -> None:
    _require(name)
    location = download.locate_named(name, ModelKind.TAGGER, CACHE)
    tagger = load_tagger(location.directory, name=name, version=location.version, session_config=CONFIG)
    assert tagger.input_size == 448
    assert 10_000 <= len(tagger.tags) <= 12_000
    assert 2_000 <= len(tagger.tags.indices(TagCategory.CHARACTER)) <= 3_500
    ratings = tagger.tags.indices(TagCategory.RATING)
    assert [tagger.tags.names[i] for i in ratings] == ["general", "sensitive", "questionable", "explicit"]
    probs = tagger.predict_batch(PICTURES)
    assert probs.shape == (len(PICTURES), len(tagger.tags)) and probs.dtype == np.float32
    assert np.all((probs >= 0) & (probs <= 1))
    rating_sums = probs[:, ratings].sum(axis=1)
    assert np.all((rating_sums > 0.5) & (rating_sums < 1.5)), rating_sums
    assert np.all(probs[:, ratings].argmax(axis=1) <= 1)  # a drawn, clothed figure is general or sensitive


def test_ccip_embeds_and_compares() -> None:
    _require(DEFAULT_EMBEDDER)
    embedder = download.open_embedder(DEFAULT_EMBEDDER, CACHE, CONFIG)
    assert embedder.input_size == 384
    assert embedder.threshold == pytest.approx(0.178, abs=0.01)
    vectors = embedder.embed_batch(PICTURES)
    assert vectors.shape == (len(PICTURES), 768) and np.all(np.isfinite(vectors))
    differences = embedder.differences(vectors)
    np.testing.assert_allclose(np.diag(differences), 0.0, atol=1e-3)
    np.testing.assert_allclose(differences, differences.T, atol=1e-4)
    assert embedder.differences_to(vectors[0], vectors).shape == (len(PICTURES),)


def test_face_detector_boxes_lie_inside_the_picture() -> None:
    _require(DEFAULT_DETECTOR)
    detector = download.open_detector(DEFAULT_DETECTOR, CACHE, CONFIG)
    assert detector.labels == ("face",)
    for picture in PICTURES:
        for found in detector.detect(picture):
            x0, y0, x1, y1 = found.box
            assert 0 <= x0 < x1 <= picture.width and 0 <= y0 < y1 <= picture.height
            assert 0.25 < found.score <= 1.0
