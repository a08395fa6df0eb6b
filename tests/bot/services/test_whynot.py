"""whynot: evidence derived from the real vectors, the character's rank, and suggestions for unknown names."""

from __future__ import annotations

import numpy as np
import pytest

from bot.app import Services
from bot.errors import NotFound, UnknownCharacter
from bot.recognition.analysis import InferenceJob
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR

REF_SEEDS = (1, 2, 3)

STORED = 2e-3
"""References are stored as float16 (relative error 2**-11): a stored mean matches a fresh analysis this closely."""


async def enroll_pair(services: Services) -> None:
    for seed in REF_SEEDS:
        await services.enrollment.enroll_approved(
            "Alice", picture(BLONDE, seed), aliases=["アリス"] if seed == 1 else ()
        )
        await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, seed))


async def vocabulary_vector(services: Services, image: bytes) -> np.ndarray:
    analysis = await services.analyzer.analyze(InferenceJob(image=image))
    return services.gallery.vocabulary.select(analysis.whole.tag_probs)


async def test_blonde_picture_against_blue_hair_names_the_colours_that_differ(services: Services) -> None:
    await enroll_pair(services)
    query = picture(BLONDE, seed=60)
    result = await services.whynot.whynot(query, "Bea")

    assert result.character == "Bea"
    assert result.best_match == "Alice"
    assert result.rank == 2
    assert result.distance > result.best_distance

    # Independently: the query's vector and the mean of Bea's reference vectors, tag by tag.
    names = services.gallery.vocabulary.names
    image_values = await vocabulary_vector(services, query)
    bea_mean = np.mean([await vocabulary_vector(services, picture(BLUE_HAIR, seed)) for seed in REF_SEEDS], axis=0)
    for item in result.evidence:
        index = names.index(item.tag)
        assert item.image == pytest.approx(float(image_values[index]), abs=1e-5)
        assert item.character == pytest.approx(float(bea_mean[index]), abs=STORED)

    gaps = np.abs(image_values - bea_mean)
    widest = {names[i] for i in np.argsort(-gaps)[:3]}
    opposing = {item.tag for item in result.opposing}
    assert widest <= opposing, (widest, opposing)
    for item in result.opposing:
        assert abs(item.image - item.character) > 0.25
    # The strongest evidence either way is against Bea.
    assert result.evidence[0].weight < 0
    weights = [abs(item.weight) for item in result.evidence]
    assert weights == sorted(weights, reverse=True)


async def test_evidence_contrasts_with_the_best_match_and_names_its_values(services: Services) -> None:
    await enroll_pair(services)
    query = picture(BLONDE, seed=63)
    result = await services.whynot.whynot(query, "Bea")
    assert result.compared_with == "Alice"

    names = services.gallery.vocabulary.names
    alice_mean = np.mean([await vocabulary_vector(services, picture(BLONDE, seed)) for seed in REF_SEEDS], axis=0)
    for item in result.evidence:
        assert item.rival == pytest.approx(float(alice_mean[names.index(item.tag)]), abs=STORED)
    # Bea is not the best match, so the evidence as a whole speaks against her, tag by tag where the
    # picture is nearer Alice's value than Bea's.
    assert result.opposing
    for item in result.opposing:
        assert abs(item.image - item.rival) < abs(item.image - item.character)


async def test_the_best_match_is_contrasted_with_the_runner_up(services: Services) -> None:
    await enroll_pair(services)
    result = await services.whynot.whynot(picture(BLONDE, seed=64), "Alice")
    assert result.rank == 1
    assert result.compared_with == "Bea"
    assert result.supporting


async def test_a_lone_character_gets_absolute_evidence(services: Services) -> None:
    for seed in REF_SEEDS:
        await services.enrollment.enroll_approved("Alice", picture(BLONDE, seed))
    result = await services.whynot.whynot(picture(BLUE_HAIR, seed=65), "Alice")
    assert result.compared_with is None
    assert all(item.rival is None for item in result.evidence)
    assert result.opposing


async def test_the_matching_character_ranks_first_with_supporting_evidence(services: Services) -> None:
    await enroll_pair(services)
    result = await services.whynot.whynot(picture(BLONDE, seed=61), "alice")
    assert result.rank == 1
    assert result.best_match == "Alice"
    assert result.distance == pytest.approx(result.best_distance)
    # The tag both the picture and Alice show most strongly speaks for her.
    shared = max(result.evidence, key=lambda item: min(item.image, item.character))
    assert shared.weight > 0
    assert len(result.supporting) >= 3


async def test_an_alias_in_another_script_finds_the_character(services: Services) -> None:
    await enroll_pair(services)
    result = await services.whynot.whynot(picture(BLONDE, seed=62), "アリス")
    assert result.character == "Alice"


async def test_unknown_name_suggests_the_closest_names(services: Services) -> None:
    await enroll_pair(services)
    await services.enrollment.enroll_approved("Pia", picture(PINK_HAIR, 1))
    with pytest.raises(UnknownCharacter) as caught:
        await services.whynot.whynot(picture(BLONDE, seed=63), "Alicia")
    assert caught.value.suggestions[0] == "Alice"
    assert len(caught.value.suggestions) <= 3
    assert "Alice" in caught.value.user_message


async def test_unknown_name_far_from_everything_has_no_suggestions(services: Services) -> None:
    await enroll_pair(services)
    with pytest.raises(UnknownCharacter) as caught:
        await services.whynot.whynot(picture(BLONDE, seed=63), "Zzyzx Qwv")
    assert caught.value.suggestions == ()


async def test_a_character_without_approved_references_cannot_be_explained(services: Services) -> None:
    await enroll_pair(services)
    await services.enrollment.submit("Pia", picture(PINK_HAIR, 1), guild_id=5, user_id=9)
    with pytest.raises(NotFound):
        await services.whynot.whynot(picture(PINK_HAIR, seed=2), "Pia", guild_id=5)
