"""WD tag cutoffs as SmilingWolf's wd-tagger demo draws them: fixed card thresholds, or MCut with a character floor.

Reference facts (SmilingWolf/wd-tagger `app.py`): general tags above 0.35, characters above 0.85; with MCut,
each category's probabilities are sorted and cut in the middle of the widest gap, and the character cutoff is
never below 0.15. The three numbers are the card's `general`, `character` and `character_mcut_floor`.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.recognition.vocabulary import select_vocabulary
from bot.services.tags import TagService
from models.registry import CARDS, DEFAULT_TAGGER, ModelKind, get_card
from models.tag_thresholds import TagCutoff, mcut_threshold, wd_cutoffs
from tests.bot.recognition.test_vocabulary import tag_list

READ_THRESHOLDS = {
    ModelKind.TAGGER: {"general", "character", "character_mcut_floor"},  # models.tag_thresholds
    ModelKind.EMBEDDER: set(),  # CCIP's threshold is its metrics.json
    ModelKind.DETECTOR: {"confidence", "iou"},  # models.download.open_detector
}


def test_mcut_cuts_in_the_middle_of_the_widest_gap() -> None:
    assert mcut_threshold(np.array([0.1, 0.9, 0.6, 0.05])) == pytest.approx((0.6 + 0.1) / 2)  # gap 0.5 beats 0.3
    assert mcut_threshold(np.array([0.95, 0.2, 0.15])) == pytest.approx((0.95 + 0.2) / 2)
    assert mcut_threshold(np.array([0.7])) == 1.0 and mcut_threshold(np.zeros(0)) == 1.0  # no gap: nothing passes


def test_cutoffs_read_every_wd_card_threshold() -> None:
    card = get_card(DEFAULT_TAGGER).thresholds
    general, character = wd_cutoffs(DEFAULT_TAGGER)
    assert (general.threshold, character.threshold) == (card["general"], card["character"]) == (0.35, 0.85)
    assert not general.mcut and general.of(np.array([0.9, 0.1])) == 0.35
    general, character = wd_cutoffs(DEFAULT_TAGGER, mcut=True)
    assert character.floor == card["character_mcut_floor"] == 0.15 and general.floor == 0.0
    low = np.array([0.12, 0.02, 0.01])  # MCut alone would cut at 0.07
    assert general.of(low) == pytest.approx(0.07) and character.of(low) == 0.15
    assert wd_cutoffs("a-folder-without-card", mcut=True)[1] == TagCutoff(0.85, mcut=True, floor=0.15)


def test_every_card_threshold_is_one_the_code_reads() -> None:
    for card in CARDS:
        assert set(card.thresholds) == READ_THRESHOLDS[card.kind], card.name


def test_tagger_characters_follow_mcut_with_its_floor() -> None:
    tags = tag_list(["red_hair", "smile"], characters=["alice_(x)", "bea", "cleo", "dora"])
    fixed = select_vocabulary(tags, tagger=f"{DEFAULT_TAGGER}@abc")
    adaptive = select_vocabulary(tags, tagger=f"{DEFAULT_TAGGER}@abc", mcut=True)
    confident = np.array([0.5, 0.5, 0.9, 0.6, 0.1, 0.05], dtype=np.float32)
    assert fixed.character_threshold_for(confident) == 0.85
    assert adaptive.character_threshold_for(confident) == pytest.approx(0.35)  # bea at 0.6 is named too
    noise = np.array([0.5, 0.5, 0.12, 0.02, 0.01, 0.0], dtype=np.float32)
    assert adaptive.character_threshold_for(noise) == 0.15  # the floor: no character from noise


def test_tags_service_cuts_general_and_character_tags_by_mcut() -> None:
    tags = tag_list(["red_hair", "smile", "sky"], ratings=["general"], characters=["alice", "bea"])
    probs = np.array([0.9, 0.95, 0.3, 0.2, 0.8, 0.1], dtype=np.float32)  # rating, 3 general, 2 characters
    fixed = TagService(None, tags, tagger=f"{DEFAULT_TAGGER}@abc").tags_of(probs)  # type: ignore[arg-type]
    assert [score.tag for score in fixed.general] == ["red_hair"] and fixed.character == ()
    assert dict(fixed.thresholds) == {"general": 0.35, "character": 0.85}
    mcut = TagService(None, tags, tagger=f"{DEFAULT_TAGGER}@abc", mcut=True).tags_of(probs)  # type: ignore[arg-type]
    assert dict(mcut.thresholds) == pytest.approx({"general": (0.95 + 0.3) / 2, "character": (0.8 + 0.1) / 2})
    assert [score.tag for score in mcut.general] == ["red_hair"] and [score.tag for score in mcut.character] == [
        "alice"
    ]
