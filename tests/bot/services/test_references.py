"""Reference thumbnails: the rating rule for channels, guild scopes, the most typical picture, tagger-only names."""

from __future__ import annotations

import numpy as np
import pytest

from bot.app import Services
from bot.services.references import ReferencePictures, best_match, may_show, most_typical
from bot.services.results import IdentifyResult, Match, RegionResult
from bot.store.records import ReferenceStatus
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE


@pytest.mark.parametrize(
    ("rating", "age_restricted", "shown"),
    [
        (None, False, True),
        ("general", False, True),
        ("sensitive", False, True),
        ("questionable", False, False),
        ("explicit", False, False),
        ("questionable", True, True),
        ("explicit", True, True),
    ],
)
def test_adult_ratings_are_shown_only_in_age_restricted_channels(
    rating: str | None, age_restricted: bool, shown: bool
) -> None:
    assert may_show(rating, age_restricted=age_restricted) is shown


def match(name: str, confidence: float, character_id: int | None = 1, source: str = "gallery") -> Match:
    return Match(character_id, name, None, 1 - confidence, confidence, source=source)  # type: ignore[arg-type]


def test_the_thumbnail_illustrates_the_most_confident_recognised_face() -> None:
    regions = (
        RegionResult((0, 0, 9, 9), (match("Far", 0.3, 1),), unknown=True),
        RegionResult((10, 0, 19, 9), (match("Bea", 0.6, 2), match("Pia", 0.5, 3)), unknown=False),
        RegionResult((20, 0, 29, 9), (match("Alice", 0.8, 4),), unknown=False),
    )
    assert best_match(IdentifyResult(regions)).character == "Alice"
    assert best_match(IdentifyResult(regions[:1])) is None


def test_most_typical_puts_the_reference_nearest_the_mean_first() -> None:
    class Ref:
        def __init__(self, ident: int, vector: list[float]) -> None:
            self.id, self.tag_vector = ident, np.asarray(vector, dtype=np.float32)

    refs = [Ref(1, [1.0, 0.0]), Ref(2, [0.0, 1.0]), Ref(3, [0.5, 0.5]), Ref(4, [0.6, 0.4])]
    # mean is (0.525, 0.475): #4 is 0.106 away, #3 0.035 away, #1 and #2 about 0.67
    assert [r.id for r in most_typical(refs)][:2] == [3, 4]  # type: ignore[arg-type]
    assert most_typical(refs[:2]) == refs[:2]  # type: ignore[arg-type]


async def add_reference(
    services: Services, name: str, seed: int, *, rating: str | None, guild_id: int | None = None
) -> int:
    data = picture(BLONDE, seed)
    path, _ = services.images.save(data)
    _, reference = await services.store.enroll(
        name,
        guild_id=guild_id,
        status=ReferenceStatus.APPROVED,
        tagger="test@1",
        tag_vector=np.full(4, seed, dtype=np.float32),
        phash=f"{seed:016x}",
        image_path=path,
        rating=rating,
    )
    return reference.character_id


async def test_an_adult_reference_is_skipped_outside_age_restricted_channels(services: Services) -> None:
    pictures = ReferencePictures(services.store, services.images)
    alice = await add_reference(services, "Alice", 1, rating="explicit")
    only_adult = await pictures.for_character(alice, guild_id=None, age_restricted=False)
    in_nsfw = await pictures.for_character(alice, guild_id=None, age_restricted=True)
    await add_reference(services, "Alice", 2, rating="general")
    safe = await pictures.for_character(alice, guild_id=None, age_restricted=False)
    assert only_adult is None
    assert in_nsfw is not None and in_nsfw.data == picture(BLONDE, 1) and in_nsfw.extension == "png"
    assert safe is not None and safe.data == picture(BLONDE, 2) and safe.reference.rating == "general"


async def test_a_guilds_own_reference_comes_first_and_never_leaves_the_guild(services: Services) -> None:
    pictures = ReferencePictures(services.store, services.images)
    alice = await add_reference(services, "Alice", 1, rating=None)
    assert await add_reference(services, "Alice", 2, rating=None, guild_id=7) == alice
    at_home = await pictures.for_character(alice, guild_id=7, age_restricted=False)
    elsewhere = await pictures.for_character(alice, guild_id=8, age_restricted=False)
    assert at_home is not None and at_home.reference.guild_id == 7
    assert elsewhere is not None and elsewhere.reference.guild_id is None


async def test_a_missing_file_falls_back_and_a_tagger_only_name_has_no_picture(services: Services) -> None:
    pictures = ReferencePictures(services.store, services.images)
    alice = await add_reference(services, "Alice", 1, rating=None)
    await add_reference(services, "Alice", 2, rating=None)
    services.images.discard(services.images.relative_path(picture(BLONDE, 1)))
    fallback = await pictures.for_character(alice, guild_id=None, age_restricted=False)
    tagger_only = IdentifyResult((RegionResult(None, (match("Hatsune Miku", 0.9, None, "model"),), unknown=False),))
    assert fallback is not None and fallback.data == picture(BLONDE, 2)
    assert await pictures.thumbnail(tagger_only, guild_id=None, age_restricted=True) is None
