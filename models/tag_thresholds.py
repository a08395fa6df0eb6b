"""Which WD tags a picture has: probability above a fixed threshold, or above MCut, as SmilingWolf's reference does.

SmilingWolf's wd-tagger demo (the reference consumer of the WD v3 taggers) keeps general tags above 0.35 and
character tags above 0.85. Either category can instead be cut per picture by Maximum Cut Thresholding: sort
the category's probabilities and cut in the middle of the widest gap between neighbours, so a picture with
a few confident tags keeps just those. Characters cut that way are never kept below 0.15, because an image
with no confident character still has a widest gap, low down among the noise. The numbers come from the
model card (`general`, `character`, `character_mcut_floor`), with WD v3's documented values for a tagger
folder that has no card.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.registry import get_card, is_known

WD_GENERAL_THRESHOLD = 0.35
WD_CHARACTER_THRESHOLD = 0.85
WD_CHARACTER_MCUT_FLOOR = 0.15


def mcut_threshold(probabilities: np.ndarray) -> float:
    """The midpoint of the widest gap between neighbouring sorted probabilities (MCut).

    With fewer than two probabilities there is no gap to cut: the cutoff is 1.0, so nothing passes.
    """
    ordered = np.sort(np.asarray(probabilities, dtype=np.float64).reshape(-1))[::-1]
    if ordered.size < 2:
        return 1.0
    widest = int(np.argmax(ordered[:-1] - ordered[1:]))
    return float((ordered[widest] + ordered[widest + 1]) / 2)


@dataclass(frozen=True)
class TagCutoff:
    """One category's rule: a fixed threshold, or MCut per picture never below `floor`."""

    threshold: float
    mcut: bool = False
    floor: float = 0.0

    def of(self, probabilities: np.ndarray) -> float:
        """The cutoff for one picture, given that picture's probabilities of this category's tags."""
        if not self.mcut:
            return self.threshold
        return max(self.floor, mcut_threshold(probabilities))


def wd_cutoffs(tagger_name: str, *, mcut: bool = False) -> tuple[TagCutoff, TagCutoff]:
    """(general, character) cutoffs of a WD tagger from its model card; `mcut` as the reference's MCut options."""
    thresholds = get_card(tagger_name).thresholds if is_known(tagger_name) else {}
    general = TagCutoff(float(thresholds.get("general", WD_GENERAL_THRESHOLD)), mcut=mcut)
    character = TagCutoff(
        float(thresholds.get("character", WD_CHARACTER_THRESHOLD)),
        mcut=mcut,
        floor=float(thresholds.get("character_mcut_floor", WD_CHARACTER_MCUT_FLOOR)),
    )
    return general, character
