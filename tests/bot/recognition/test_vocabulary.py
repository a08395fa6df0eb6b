"""The invariant vocabulary keeps what describes a character and drops what describes a picture."""

from __future__ import annotations

import numpy as np
import pytest

from bot.recognition.vocabulary import is_character_tag, select_vocabulary
from models.tagger import TagCategory, TagList

CHARACTER_TAGS = [
    "blonde_hair", "blue_eyes", "long_hair", "twintails", "side_ponytail", "ahoge", "blunt_bangs", "braid",
    "hair_bun", "drill_hair", "hair_ornament", "hairclip", "hair_ribbon", "hairband", "hair_bow", "heterochromia",
    "animal_ears", "cat_ears", "fox_ears", "pointy_ears", "horns", "dragon_horns", "tail", "fox_tail", "wings",
    "demon_wings", "halo", "dark_skin", "mole_under_eye", "freckles", "fang", "hair_between_eyes", "sidelocks",
    "two-tone_hair", "streaked_hair",
]  # fmt: skip
PICTURE_TAGS = [
    "smile", "looking_at_viewer", "white_background", "simple_background", "closed_eyes", "open_mouth",
    "holding", "sitting", "1girl", "solo", "upper_body", "hand_in_own_hair", "school_uniform", "skirt",
    "one_eye_closed", "blush", "day", "outdoors",
]  # fmt: skip


def tag_list(general: list[str], *, ratings: list[str] = (), characters: list[str] = ()) -> TagList:
    names = [*ratings, *general, *characters]
    categories = [TagCategory.RATING] * len(ratings) + [TagCategory.GENERAL] * len(general)
    categories += [TagCategory.CHARACTER] * len(characters)
    return TagList(
        names=tuple(names),
        categories=np.asarray(categories, dtype=np.int16),
        counts=np.ones(len(names), dtype=np.int64),
    )


@pytest.mark.parametrize("name", CHARACTER_TAGS)
def test_character_tags_are_kept(name: str) -> None:
    assert is_character_tag(name)


@pytest.mark.parametrize("name", PICTURE_TAGS)
def test_picture_tags_are_dropped(name: str) -> None:
    assert not is_character_tag(name)


def test_wd_vocabulary_indexes_only_invariant_general_tags() -> None:
    general = PICTURE_TAGS[:5] + CHARACTER_TAGS[:6] + PICTURE_TAGS[5:]
    tags = tag_list(general, ratings=["general", "explicit"], characters=["hatsune_miku", "blue_hair_person"])
    vocabulary = select_vocabulary(tags, tagger="wd-swinv2-tagger-v3@abc")
    assert vocabulary.names == tuple(CHARACTER_TAGS[:6])
    assert [tags.names[i] for i in vocabulary.indices] == list(vocabulary.names)
    assert all(tags.categories[i] == TagCategory.GENERAL for i in vocabulary.indices)
    probs = np.arange(len(tags), dtype=np.float32)
    assert vocabulary.select(probs).tolist() == [float(i) for i in vocabulary.indices]
    assert vocabulary.select(np.stack([probs, probs])).shape == (2, len(vocabulary))


def test_palette_vocabulary_keeps_all_its_general_tags() -> None:
    tags = tag_list(["whole_red", "top_blue", "smile_like_name"], ratings=["general"])
    vocabulary = select_vocabulary(tags, tagger="palette@1")
    assert vocabulary.names == ("whole_red", "top_blue", "smile_like_name")
    assert vocabulary.indices.tolist() == [1, 2, 3]


def test_a_tagger_without_known_invariant_tags_falls_back_to_its_general_tags() -> None:
    tags = tag_list(["alpha", "beta"])
    assert select_vocabulary(tags, tagger="custom@1").names == ("alpha", "beta")
