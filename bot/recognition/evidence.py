"""Per-tag evidence for `whynot`: how each named tag of the query pulls towards or away from a character."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.recognition.profile import CharacterProfile, contrast_evidence, tag_evidence
from bot.recognition.ranking import TagEvidence


def explain_tags(
    names: Sequence[str], query: np.ndarray, profile: CharacterProfile, rival: CharacterProfile | None
) -> list[TagEvidence]:
    """Signed per-tag evidence of the query for one character, strongest (either sign) first.

    With a `rival` profile the evidence contrasts the two, and each weight is that tag's share of the whole
    contrast, so the weights read as "how much of the difference"; without one it is absolute.
    """
    if rival is None:
        weights = np.asarray(tag_evidence(query, profile), dtype=float)
    else:
        contrast = np.asarray(contrast_evidence(query, profile, rival), dtype=float)
        total = float(np.abs(contrast).sum())
        weights = contrast / total if total > 0 else contrast
    order = np.argsort(-np.abs(weights), kind="stable")
    return [
        TagEvidence(
            names[i],
            float(query[i]),
            float(profile.mean[i]),
            float(weights[i]),
            rival=None if rival is None else float(rival.mean[i]),
        )
        for i in order
    ]
