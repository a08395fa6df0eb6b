"""A per-tagger "unknown" cutoff: the palette keeps its calibrated defaults, a WD tagger waits for its own."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.recognition.blocks import BLOCK_UNKNOWN_DISTANCE
from bot.recognition.cutoff import cutoff_measure, first_cutoff, is_palette
from bot.recognition.gallery import Gallery
from bot.recognition.profile import DEFAULT_UNKNOWN_DISTANCE
from bot.recognition.vocabulary import Vocabulary
from tests.bot.records import approved_reference, character

WD = "wd-swinv2-tagger-v3@c9f0dc9e"
NAMES = ("red_hair", "blue_hair", "cat_ears")


def gallery_of(tagger: str, **options: object) -> Gallery:
    vocabulary = Vocabulary(tagger=tagger, indices=np.arange(3), names=NAMES)
    gallery = Gallery(vocabulary, **options)
    gallery.add(character(1, "Red"), approved_reference(1, 1, [0.9, 0.0, 0.1], tagger=tagger))
    gallery.add(character(1, "Red"), approved_reference(2, 1, [0.8, 0.1, 0.0], tagger=tagger))
    gallery.add(character(2, "Blue"), approved_reference(3, 2, [0.0, 0.9, 0.1], tagger=tagger))
    return gallery


FAR = np.array([0.4, 0.4, 0.9], dtype=np.float32)
"""Far from both profiles: well beyond the palette's 0.044."""


def test_a_wd_gallery_without_calibration_never_says_unknown_with_the_palettes_cutoff() -> None:
    palette = gallery_of("palette@1")
    assert palette.rank(FAR).unknown  # the palette's own calibrated cutoff applies to the palette
    wd = gallery_of(WD)
    ranking = wd.rank(FAR)
    assert ranking.candidates[0].distance > DEFAULT_UNKNOWN_DISTANCE
    assert not ranking.unknown  # before: unknown, by the cutoff measured on the palette tagger
    assert wd.cutoff.missing and wd.unknown_distance == math.inf
    assert not palette.cutoff.missing


def test_a_calibrated_cutoff_decides_and_a_configured_one_still_wins() -> None:
    distance = gallery_of(WD).rank(FAR).candidates[0].distance
    calibrated = gallery_of(WD, calibrated=distance * 0.9)
    assert calibrated.rank(FAR).unknown and calibrated.cutoff.source == "calibrated"
    assert not calibrated.cutoff.missing
    lenient = gallery_of(WD, calibrated=distance * 0.9, unknown_distance=distance * 1.1)
    assert not lenient.rank(FAR).unknown and lenient.cutoff.source == "configured"
    assert not gallery_of(WD, calibrated=distance * 1.1).rank(FAR).unknown


def test_the_fitted_blocks_keep_the_palettes_default_and_wait_for_a_wd_calibration() -> None:
    weights = {"tags": 1.0}
    assert gallery_of("palette@1", block_weights=weights).unknown_distance == BLOCK_UNKNOWN_DISTANCE
    wd = gallery_of(WD, block_weights=weights)
    assert wd.cutoff.missing and not wd.rank(FAR).unknown
    # With one character the blocks cannot score yet; the tag fallback is the palette's only for the palette.
    lone = Gallery(Vocabulary(tagger=WD, indices=np.arange(3), names=NAMES), block_weights=weights)
    lone.add(character(1, "Red"), approved_reference(1, 1, [0.9, 0.0, 0.1], tagger=WD))
    assert not lone.rank(FAR).unknown
    assert cutoff_measure(True) == "blocks" and cutoff_measure(False) == "tags"


def test_with_an_embedder_its_threshold_decides_whatever_the_tagger() -> None:
    class Threshold:
        identity = "ccip@t1"
        threshold = 0.178

    cutoff = first_cutoff(WD, Threshold(), blocks=False, configured=None)
    assert cutoff.source == "embedder" and not cutoff.missing
    assert cutoff.difference == pytest.approx(0.178)
    assert first_cutoff(WD, Threshold(), blocks=False, configured=0.2).difference == pytest.approx(0.2)
    assert is_palette("palette@1") and not is_palette(WD) and not is_palette("palettes@1")
