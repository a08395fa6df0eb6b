"""identify on drawn characters: the right one ranks first, unknown is explicit, scopes do not leak."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.app import Services
from bot.errors import ImageRejected, ModelUnavailable
from bot.recognition.analysis import InferenceJob
from bot.recognition.profile import DEFAULT_UNKNOWN_DISTANCE
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR, PINK_HAIR

DESIGNS = {"Alice": BLONDE, "Bea": BLUE_HAIR, "Pia": PINK_HAIR, "Greta": GREEN_HAIR}


async def enroll_all(services: Services, *, seeds: range = range(1, 4), guild_id: int | None = None) -> None:
    for name, design in DESIGNS.items():
        for seed in seeds:
            await services.enrollment.enroll_approved(name, picture(design, seed), guild_id=guild_id)


@pytest.mark.parametrize("name", list(DESIGNS))
async def test_each_character_ranks_first_on_an_unseen_picture(services: Services, name: str) -> None:
    await enroll_all(services)
    result = await services.identify.identify(picture(DESIGNS[name], seed=50), top=3)
    (region,) = result.regions
    assert region.box is None
    assert region.matches[0].character == name
    assert not region.unknown
    assert len(region.matches) == 3
    distances = [match.distance for match in region.matches]
    confidences = [match.confidence for match in region.matches]
    assert distances == sorted(distances)
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= value <= 1.0 for value in confidences)
    assert {match.source for match in region.matches} == {"gallery"}


async def test_empty_gallery_answers_unknown_without_matches(services: Services) -> None:
    result = await services.identify.identify(picture(BLONDE, seed=1))
    assert result.regions[0].matches == ()
    assert result.regions[0].unknown


async def test_a_character_missing_from_the_gallery_is_unknown(services: Services) -> None:
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 2))
    known = await services.identify.identify(picture(BLONDE, seed=40))
    stranger = await services.identify.identify(picture(BLUE_HAIR, seed=40))
    # one character: too few for the block metric's scale, so the tag profile's calibrated distance decides
    assert known.regions[0].matches[0].distance <= DEFAULT_UNKNOWN_DISTANCE < stranger.regions[0].matches[0].distance
    assert not known.regions[0].unknown
    assert stranger.regions[0].unknown


async def test_guild_references_serve_only_that_guild(services: Services) -> None:
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, 1), guild_id=111)
    query = picture(BLUE_HAIR, seed=30)
    seen_by_owner = await services.identify.identify(query, guild_id=111)
    seen_by_other = await services.identify.identify(query, guild_id=222)
    seen_globally = await services.identify.identify(query)
    assert [m.character for m in seen_by_owner.regions[0].matches] == ["Bea", "Alice"]
    assert [m.character for m in seen_by_other.regions[0].matches] == ["Alice"]
    assert [m.character for m in seen_globally.regions[0].matches] == ["Alice"]


async def test_a_non_image_is_rejected_with_a_user_message(services: Services) -> None:
    with pytest.raises(ImageRejected) as caught:
        await services.identify.identify(b"this is a text file, not a picture")
    assert caught.value.reason == "not_an_image"
    assert caught.value.user_message


async def test_a_model_mismatch_tells_the_member_to_wait_and_the_operator_what_to_run(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    analysis = await services.analyzer.analyze(InferenceJob(image=picture(BLONDE, 1)))
    other = replace(analysis, tagger="other-tagger@9")
    with pytest.raises(ModelUnavailable) as caught:
        await services.identify.identify_analysis(other)
    assert "reindex" not in caught.value.user_message and "operator" in caught.value.user_message
    assert "other-tagger@9" in str(caught.value)  # the detail, for the log
    assert "other-tagger@9" in caplog.text and "waifu-bot reindex" in caplog.text
