"""Profile math on vectors built by hand, with expected values worked out from the definitions."""

from __future__ import annotations

import numpy as np
import pytest

from bot.recognition.profile import (
    DEFAULT_UNKNOWN_DISTANCE,
    SPREAD_FLOOR,
    CharacterProfile,
    build_profile,
    contrast_evidence,
    distance_contributions,
    distance_to_confidence,
    profile_distances,
    tag_evidence,
)


def test_profile_is_mean_and_std() -> None:
    profile = build_profile(np.array([[0.0, 1.0, 0.2], [1.0, 1.0, 0.4]]))
    np.testing.assert_allclose(profile.mean, [0.5, 1.0, 0.3])
    np.testing.assert_allclose(profile.spread, [0.5, 0.0, 0.1], atol=1e-7)
    assert profile.count == 2
    np.testing.assert_allclose(profile.weights[1], 1.0)


@pytest.mark.parametrize("bad", [np.zeros((0, 3)), np.zeros(3)])
def test_profile_needs_reference_rows(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="profile"):
        build_profile(bad)


def test_nearest_profile_wins() -> None:
    blonde = build_profile(np.array([[1.0, 0.0, 0.5], [0.9, 0.1, 0.5]]))
    blue = build_profile(np.array([[0.0, 1.0, 0.5], [0.1, 0.9, 0.5]]))
    distances = profile_distances(np.array([0.8, 0.1, 0.5]), [blonde, blue])
    assert distances.shape == (2,)
    assert distances[0] < distances[1]
    assert profile_distances(np.array([0.8, 0.1, 0.5]), []).shape == (0,)


def test_a_dim_that_varies_counts_less() -> None:
    # A: dim 0 varies across its references (0 or 1), dim 1 is always 0.
    # B: dim 0 is always 1, dim 1 is always 0.5. The query differs from each by 0.5 on one dim:
    # from A on A's varying dim, from B on B's steady dim, so A must be nearer.
    varying = build_profile(np.array([[0.0, 0.0], [1.0, 0.0]]))
    steady = build_profile(np.array([[1.0, 0.5], [1.0, 0.5]]))
    query = np.array([1.0, 0.0])
    distances = profile_distances(query, [varying, steady])
    floor2 = SPREAD_FLOOR**2
    weight_varying = floor2 / (0.5**2 + floor2)  # the weight of a dim with spread 0.5
    expected_varying = (weight_varying * 0.5**2 + 1.0 * 0) / (weight_varying + 1.0)
    expected_steady = (1.0 * 0 + 1.0 * 0.5**2) / 2.0
    np.testing.assert_allclose(distances, [expected_varying, expected_steady], rtol=1e-5)
    assert distances[0] < distances[1]


def test_vectorised_distances_equal_one_by_one() -> None:
    rng = np.random.default_rng(0)
    profiles = [build_profile(rng.random((5, 8))) for _ in range(4)]
    query = rng.random(8)
    together = profile_distances(query, profiles)
    alone = [profile_distances(query, [profile])[0] for profile in profiles]
    np.testing.assert_allclose(together, alone, rtol=1e-6)


def test_evidence_signs() -> None:
    # dims: blonde_hair, blue_hair, red_clothes (shared), wings (absent from both)
    character = build_profile(np.array([[0.0, 0.9, 0.8, 0.0], [0.0, 1.0, 0.9, 0.0]]))
    query = np.array([0.95, 0.0, 0.85, 0.0])
    evidence = tag_evidence(query, character)
    assert evidence.shape == (4,)
    assert evidence[0] < -0.5  # the picture has blonde hair, the character has none: strongly against
    assert evidence[1] < -0.5  # the character has blue hair, the picture has none: strongly against
    assert evidence[2] > 0  # both have red clothes: for
    assert evidence[3] == 0  # absent from both: says nothing
    assert evidence[2] < abs(evidence[0])


def test_evidence_weakens_where_the_character_varies() -> None:
    steady = CharacterProfile(mean=np.array([0.2], dtype=np.float32), spread=np.array([0.0], np.float32), count=3)
    varying = CharacterProfile(mean=np.array([0.2], dtype=np.float32), spread=np.array([0.4], np.float32), count=3)
    query = np.array([0.9])
    assert tag_evidence(query, steady)[0] < tag_evidence(query, varying)[0] <= 0


def test_confidence_is_monotone_in_unit_range() -> None:
    distances = np.array(
        [0.0, DEFAULT_UNKNOWN_DISTANCE / 2, DEFAULT_UNKNOWN_DISTANCE, 4 * DEFAULT_UNKNOWN_DISTANCE, 1e6]
    )
    confidence = distance_to_confidence(distances)
    assert confidence[0] == 1.0
    np.testing.assert_allclose(confidence[2], 0.5)
    assert np.all(np.diff(confidence) < 0)
    assert confidence.min() >= 0.0
    assert confidence.max() <= 1.0


def test_contributions_add_up_to_the_distance() -> None:
    rng = np.random.default_rng(1)
    profile = build_profile(rng.random((6, 10)))
    query = rng.random(10)
    parts = distance_contributions(query, profile)
    assert parts.shape == (10,)
    assert np.all(parts >= 0)
    np.testing.assert_allclose(parts.sum(), profile_distances(query, [profile])[0], rtol=1e-5)


def test_contrast_accounts_for_the_whole_gap_between_two_characters() -> None:
    rng = np.random.default_rng(2)
    own, rival = build_profile(rng.random((5, 12))), build_profile(rng.random((5, 12)))
    query = rng.random(12)
    evidence = contrast_evidence(query, own, rival)
    own_distance, rival_distance = profile_distances(query, [own, rival])
    np.testing.assert_allclose(evidence.sum(), rival_distance - own_distance, rtol=1e-4, atol=1e-7)


def test_contrast_signs_between_a_blonde_and_a_blue_haired_character() -> None:
    # dims: blonde_hair, blue_hair, red_clothes (both have it), wings (neither has it)
    blonde = build_profile(np.array([[0.9, 0.0, 0.8, 0.0], [1.0, 0.1, 0.9, 0.0]]))
    blue = build_profile(np.array([[0.0, 0.9, 0.8, 0.0], [0.1, 1.0, 0.9, 0.0]]))
    query = np.array([0.95, 0.0, 0.85, 0.0])
    for_blue = contrast_evidence(query, blue, blonde)
    assert for_blue[0] < 0  # the picture is blonde: against blue, for blonde
    assert for_blue[1] < 0  # the picture lacks blue hair: against blue
    assert for_blue[2] == pytest.approx(0.0, abs=1e-6)  # both wear red: says nothing about which
    assert for_blue[3] == 0.0
    np.testing.assert_allclose(contrast_evidence(query, blonde, blue), -for_blue, rtol=1e-6)
