"""Gallery ranking, scopes and updates with vectors built by hand, so every expectation is computed here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.recognition.gallery import Gallery
from bot.recognition.profile import DEFAULT_UNKNOWN_DISTANCE
from bot.recognition.vocabulary import Vocabulary
from bot.store.records import ReferenceRecord
from tests.bot.records import approved_reference, character

TAGGER = "toy@1"
# Full tag vectors have 5 columns; the vocabulary keeps columns 1, 2 and 4 (0 and 3 are "picture" tags).
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.array([1, 2, 4]), names=("red_hair", "blue_hair", "cat_ears"))


def reference(
    reference_id: int, character_id: int, vector: list[float], *, guild_id: int | None = None, tagger: str = TAGGER
) -> ReferenceRecord:
    return approved_reference(reference_id, character_id, vector, tagger=tagger, guild_id=guild_id)


RED = character(1, "Red")
BLUE = character(2, "Blue")


def gallery_with_two() -> Gallery:
    gallery = Gallery(VOCABULARY, unknown_distance=0.05)
    gallery.add(RED, reference(10, 1, [0.9, 0.9, 0.0, 0.1, 0.0]))
    gallery.add(RED, reference(11, 1, [0.1, 0.8, 0.1, 0.9, 0.0]))
    gallery.add(BLUE, reference(20, 2, [0.5, 0.0, 0.9, 0.5, 1.0]))
    return gallery


def test_rank_orders_by_distance_on_vocabulary_dims_only() -> None:
    gallery = gallery_with_two()
    # Columns 0 and 3 (not in the vocabulary) are wildly off; the red/blue columns say Red.
    ranking = gallery.rank(np.array([0.0, 0.85, 0.05, 0.0, 0.0], dtype=np.float32))
    assert [c.character.name for c in ranking.candidates] == ["Red", "Blue"]
    assert ranking.candidates[0].distance < ranking.candidates[1].distance
    assert ranking.candidates[0].confidence > ranking.candidates[1].confidence
    assert not ranking.unknown
    assert ranking.position_of(2) == 2


def test_far_queries_are_unknown_and_an_empty_gallery_too() -> None:
    gallery = gallery_with_two()
    ranking = gallery.rank(np.array([0, 0.0, 0.0, 0, 0.0], dtype=np.float32))
    assert ranking.candidates[0].distance > 0.05
    assert ranking.unknown
    assert Gallery(VOCABULARY).rank(np.zeros(5, dtype=np.float32)).unknown
    # The default was measured on the palette; another tagger has none until `eval --calibrate` (test_cutoff.py).
    assert Gallery(replace(VOCABULARY, tagger="palette@1")).unknown_distance == DEFAULT_UNKNOWN_DISTANCE


def test_adding_and_removing_changes_only_the_next_ranking() -> None:
    gallery = gallery_with_two()
    query = np.array([0, 0.0, 0.0, 0, 0.95], dtype=np.float32)
    green = character(3, "Green")
    gallery.add(green, reference(30, 3, [0, 0.0, 0.0, 0, 0.95]))
    assert gallery.rank(query).candidates[0].character.name == "Green"
    gallery.remove_reference(30)
    assert [c.character.name for c in gallery.rank(query).candidates] == ["Blue", "Red"]
    gallery.remove_character(1)
    assert [c.character.name for c in gallery.rank(query).candidates] == ["Blue"]
    assert len(gallery) == 1


def test_guild_characters_and_references_stay_in_their_guild() -> None:
    gallery = gallery_with_two()
    local = character(4, "Local", guild_id=77)
    gallery.add(local, reference(40, 4, [0, 0.5, 0.5, 0, 0.5], guild_id=77))
    # A guild-approved reference of the global Red serves guild 77 only.
    gallery.add(RED, reference(12, 1, [0, 0.0, 0.0, 0, 0.9], guild_id=77))
    query = np.array([0, 0.5, 0.5, 0, 0.5], dtype=np.float32)
    assert {c.character.name for c in gallery.rank(query, guild_id=77).candidates} == {"Red", "Blue", "Local"}
    assert {c.character.name for c in gallery.rank(query, guild_id=78).candidates} == {"Red", "Blue"}
    red_global = gallery.rank(query).candidates
    red_in_77 = gallery.rank(query, guild_id=77).candidates
    distance = {c.character.name: c.distance for c in red_global}
    distance_77 = {c.character.name: c.distance for c in red_in_77}
    assert distance["Red"] != pytest.approx(distance_77["Red"])
    assert not gallery.has_character(4, guild_id=78)
    assert gallery.has_character(4, guild_id=77)


def test_evidence_is_signed_and_uses_the_profile_values() -> None:
    gallery = gallery_with_two()
    query = np.array([0, 0.0, 0.9, 0, 1.0], dtype=np.float32)
    evidence = {item.tag: item for item in gallery.evidence(query, RED.id)}
    assert evidence["red_hair"].character == pytest.approx(0.85)
    assert evidence["red_hair"].image == pytest.approx(0.0)
    assert evidence["red_hair"].weight < 0
    assert evidence["blue_hair"].weight < 0
    for_blue = {item.tag: item for item in gallery.evidence(query, BLUE.id)}
    assert for_blue["blue_hair"].weight > 0 and for_blue["cat_ears"].weight > 0
    assert gallery.evidence(query, 999) == []


def test_vectors_of_another_model_are_left_out_until_reindexed(caplog: pytest.LogCaptureFixture) -> None:
    gallery = Gallery(VOCABULARY)
    assert gallery.add(RED, reference(1, 1, [0, 0, 0, 0, 0], tagger="other@2")) is False
    assert len(gallery) == 0 and gallery.character_count == 0
    assert "other@2" in caplog.text and "waifu-bot reindex" in caplog.text
