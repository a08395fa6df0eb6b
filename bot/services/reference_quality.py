"""Warnings about a submitted picture that a moderator (or an operator importing a folder) should see.

The facts come from the worker that decoded the picture (`ImageAnalysis.monochrome`, its size, the faces the
blocks' detector found); this module only names them, so the review card, `import` and `import --strict`
agree on what counts as a weak reference. A warning never refuses a submission on its own: a moderator may
still want a black-and-white page of a character who has no coloured one.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.recognition.analysis import ImageAnalysis

MONOCHROME, SMALL, NO_FACE = "monochrome", "small", "no_face"
DESCRIPTIONS = {
    MONOCHROME: "black-and-white or one-tint picture: the colour features learn nothing from it",
    SMALL: "smaller than the models' input: it is upscaled and blurs",
    NO_FACE: "no face found: only the whole-picture features learn from it",
}
"""One short line per code, for the review card and the import report."""


def quality_issues(analysis: ImageAnalysis) -> tuple[str, ...]:
    """The warning codes of one analysed picture, in a fixed order."""
    issues: list[str] = []
    if analysis.monochrome:
        issues.append(MONOCHROME)
    if analysis.input_side and max(analysis.width, analysis.height) < analysis.input_side:
        issues.append(SMALL)
    if analysis.faces_found == 0:  # None: no detector installed, so nothing to say
        issues.append(NO_FACE)
    return tuple(issues)


def describe(codes: Iterable[str]) -> list[str]:
    """Each code as its line; an unknown code (a newer version wrote it) is shown as it is."""
    return [DESCRIPTIONS.get(code, code) for code in codes]
