"""Picture facts a moderator should know before approving a reference: colourless, or smaller than the models.

Why: a black-and-white manga page or a one-tint sketch carries no colour, and the offline recognizer learns
a character mostly from colours (the palette blocks); a thumbnail smaller than the models' input is
upscaled and blurs. The yotsubanet seed removed greyscale pictures before training for the same reason.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MONOCHROME_CHROMA = 4.0
"""Spread (standard deviation over pixels, 0-255 scale) of the chroma below which a picture has one tint at most.

Measured on the two real sets (607 pictures): black-and-white and sepia pages spread 0.0-1.6, the least
colourful coloured picture 8.6; 4 lies in that gap. The spread ignores the mean tint, so sepia counts as
monochrome, and a coloured picture stays above it even when mostly grey."""
SAMPLE_SIDE = 96
"""The picture is measured on a thumbnail of this side: the verdict does not need more pixels."""


def chroma_spread(picture: Image.Image) -> float:
    """How much the picture's colours vary around its mean tint: the Cb and Cr spreads, combined."""
    sample = picture.convert("RGB")
    sample.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE))
    ycbcr = np.asarray(sample.convert("YCbCr"), dtype=np.float32)
    return float(np.hypot(ycbcr[..., 1].std(), ycbcr[..., 2].std()))


def is_monochrome(picture: Image.Image) -> bool:
    """True for greyscale pictures and those of one tint (sepia scans, blue-line sketches)."""
    if picture.mode in {"1", "L", "LA", "I", "I;16", "F"}:
        return True
    return chroma_spread(picture) < MONOCHROME_CHROMA
