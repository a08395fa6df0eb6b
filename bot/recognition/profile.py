"""Recognition math on tag vectors: character profiles, distances, per-tag evidence and confidence.

Why a profile and not nearest reference: a character's references disagree on tags that are not part
of the character (background, outfit of the day). The mean says what the character usually shows;
the spread says how much each tag varies across its references, and a tag that varies counts less.

All vectors here are already restricted to the character-invariant dims of one tagger; this module
knows nothing about tag names, models or storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SPREAD_FLOOR = 0.5
"""Added (in quadrature) to every spread, so a tag that happened to agree across a few references does not
get unbounded weight. On the evaluation sets any floor from 0.3 to 2 gives the same accuracy within 0.005;
below 0.3 the weights follow the noise of ten references and top-3 drops."""

EVIDENCE_TOLERANCE = 0.25
"""A query-profile difference below tolerance + spread counts for the character, above it against."""

DEFAULT_UNKNOWN_DISTANCE = 0.044
"""Distance beyond which a best match is reported as unknown; confidence is 0.5 there.

Calibrated with the palette tagger on simpsons-classification and gotoubun-no-discriminator (10 references
per character, seeds 0-2): the 90th percentile of a query's distance to its own character's profile, so
nine in ten pictures of an enrolled character are not called unknown. Pictures of a character left out
of the gallery lie at about the same distances from the others (median 0.026 against 0.023), so colour
alone rejects only about 9% of them: a look-alike family is the palette tagger's limit, not the threshold's.
"""


@dataclass(frozen=True, eq=False)  # numpy fields: compare by identity
class CharacterProfile:
    """What a character's references agree on: mean and spread per tag dim, and how many references."""

    mean: np.ndarray
    spread: np.ndarray
    count: int

    @property
    def weights(self) -> np.ndarray:
        """Per-dim weight in (0, 1]: 1 for a tag all references agree on, towards 0 as the spread grows."""
        return tag_weights(self.spread)


def tag_weights(spread: np.ndarray) -> np.ndarray:
    """Inverse-variance weight floor^2 / (spread^2 + floor^2), scaled so agreement weighs 1."""
    return SPREAD_FLOOR**2 / (np.square(spread) + SPREAD_FLOOR**2)


def build_profile(vectors: np.ndarray) -> CharacterProfile:
    """Summarise one character's reference vectors [n_refs, n_dims] as mean and spread (std)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError(f"a profile needs a non-empty [n_refs, n_dims] array, got shape {vectors.shape}")
    return CharacterProfile(
        mean=vectors.mean(axis=0).astype(np.float32),
        spread=vectors.std(axis=0).astype(np.float32),
        count=len(vectors),
    )


def profile_distances(query: np.ndarray, profiles: Sequence[CharacterProfile]) -> np.ndarray:
    """Distance of one query vector to each profile [C]: the weight-averaged squared difference."""
    if not profiles:
        return np.zeros(0, dtype=np.float32)
    query = np.asarray(query, dtype=np.float64)
    means = np.stack([profile.mean for profile in profiles]).astype(np.float64)
    weights = tag_weights(np.stack([profile.spread for profile in profiles]).astype(np.float64))
    squared = np.square(query[None, :] - means)
    return ((weights * squared).sum(axis=1) / weights.sum(axis=1)).astype(np.float32)


def tag_evidence(query: np.ndarray, profile: CharacterProfile) -> np.ndarray:
    """Signed per-dim evidence [n_dims]: positive where the query agrees with the character, negative where not.

    A dim speaks only as loudly as the tag is present in the picture or in the character
    (max of the two), so tags absent from both say nothing. It is positive while |query - mean| is under
    EVIDENCE_TOLERANCE + spread, and grows negative linearly beyond, scaled by the profile weight.
    "The picture has blonde hair, the character has blue hair" is therefore negative on both tags.
    """
    query = np.asarray(query, dtype=np.float64)
    mean = profile.mean.astype(np.float64)
    spread = profile.spread.astype(np.float64)
    tolerance = EVIDENCE_TOLERANCE + spread
    presence = np.maximum(np.abs(query), np.abs(mean))
    agreement = (tolerance - np.abs(query - mean)) / tolerance
    return (tag_weights(spread) * presence * agreement).astype(np.float32)


def distance_contributions(query: np.ndarray, profile: CharacterProfile) -> np.ndarray:
    """Each dim's share of `profile_distances` [n_dims]; the shares add up to the query's distance."""
    query = np.asarray(query, dtype=np.float64)
    weights = tag_weights(profile.spread.astype(np.float64))
    return weights * np.square(query - profile.mean.astype(np.float64)) / weights.sum()


def contrast_evidence(query: np.ndarray, profile: CharacterProfile, rival: CharacterProfile) -> np.ndarray:
    """Signed per-dim evidence [n_dims] for the character over a rival: positive where the picture fits it better.

    Why contrast: "why is this Bart and not Lisa" is answered by the tags on which the picture is closer
    to one profile than the other, not by how well either fits alone. Each dim is the rival's
    contribution to its distance minus the character's, so the evidence adds up to exactly
    distance(rival) - distance(character): it accounts for the whole gap between the two and nothing else.
    """
    return (distance_contributions(query, rival) - distance_contributions(query, profile)).astype(np.float32)


def distance_to_confidence(distances: np.ndarray) -> np.ndarray:
    """Map distances to a confidence in [0, 1]: 1 at 0, 0.5 at DEFAULT_UNKNOWN_DISTANCE, towards 0 beyond."""
    ratio = np.maximum(np.asarray(distances, dtype=np.float64), 0.0) / DEFAULT_UNKNOWN_DISTANCE
    return (1.0 / (1.0 + np.square(ratio))).astype(np.float32)
