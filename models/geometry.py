"""Where a region sits in a picture: the one box type that models, inference and results share."""

from __future__ import annotations

Box = tuple[int, int, int, int]
"""A region of the decoded, orientation-corrected image: (x0, y0, x1, y1) in pixels."""
