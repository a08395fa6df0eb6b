"""Which "unknown" cutoff a gallery answers with, and where it came from: configured, calibrated, the palette's, none.

Without CCIP, "unknown" is a distance cutoff on the tag profile or the fitted block metric. The defaults
(profile.DEFAULT_UNKNOWN_DISTANCE, blocks.BLOCK_UNKNOWN_DISTANCE) were measured with the palette tagger; a WD
tagger's distances live on another scale, so until `waifu-bot eval --calibrate` stores its own cutoff
(bot/services/calibration.py, read at gallery load) it ranks without an unknown verdict, and says so. With CCIP the
embedder's own threshold decides, whatever the tagger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from bot.recognition.blocks import BLOCK_UNKNOWN_DISTANCE
from bot.recognition.embedding import EmbeddingMetric
from bot.recognition.profile import DEFAULT_UNKNOWN_DISTANCE
from bot.recognition.vocabulary import PALETTE_TAGGER_NAME

Source = Literal["configured", "calibrated", "palette", "none", "embedder"]
Measure = Literal["blocks", "tags"]

UNCALIBRATED_NOTE = "no unknown cutoff calibrated for this tagger; run waifu-bot eval --calibrate"
"""Told with every answer of a gallery that has no cutoff (`UnknownCutoff.missing`)."""


def is_palette(tagger: str) -> bool:
    """Whether a tagger identity (`name@version`) is the bundled palette, on which the default cutoffs were measured."""
    return tagger.split("@", 1)[0] == PALETTE_TAGGER_NAME


def cutoff_measure(blocks: bool) -> Measure:
    """The distance a gallery's verdict reads: the fitted block metric's with block weights, else the profile's."""
    return "blocks" if blocks else "tags"


@dataclass(frozen=True)
class UnknownCutoff:
    """The gallery's "unknown" rule: beyond `distance` (or, with CCIP, `difference`) the best match is unknown."""

    distance: float
    """On the gallery's measure; infinite: no unknown verdict."""
    fallback: float
    """On the tag profile, while the fitted blocks cannot score yet (fewer than two characters)."""
    source: Source
    difference: float | None = None
    """The CCIP threshold when an embedder decides."""

    @property
    def missing(self) -> bool:
        """No cutoff holds for this tagger: answers carry `UNCALIBRATED_NOTE` and are never "unknown"."""
        return self.source == "none"


def first_cutoff(
    tagger: str,
    metric: EmbeddingMetric | None,
    *,
    blocks: bool,
    configured: float | None,
    calibrated: float | None = None,
) -> UnknownCutoff:
    """The cutoff in force: the configured `recognition.unknown_distance`, else the calibrated one, else the palette's.

    A configured value is read in the active measure (CCIP difference with an embedder, else distance), as before.
    """
    fallback = DEFAULT_UNKNOWN_DISTANCE if is_palette(tagger) else math.inf
    if metric is not None:
        difference = metric.threshold if configured is None else configured
        return UnknownCutoff(DEFAULT_UNKNOWN_DISTANCE, DEFAULT_UNKNOWN_DISTANCE, "embedder", difference)
    if configured is not None:
        return UnknownCutoff(configured, fallback, "configured")
    if calibrated is not None:
        return UnknownCutoff(calibrated, fallback, "calibrated")
    if is_palette(tagger):
        return UnknownCutoff(BLOCK_UNKNOWN_DISTANCE if blocks else DEFAULT_UNKNOWN_DISTANCE, fallback, "palette")
    return UnknownCutoff(math.inf, fallback, "none")
