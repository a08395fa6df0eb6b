"""Named feature blocks of one decoded picture: the palette on the face and head boxes, the CNN on whole and head.

Why blocks: each region and model tells something else about a character (hair colours on the head box,
outfit on the whole picture, shapes in the CNN features), and a picture without a detected face still has
its whole-picture blocks. The gallery's fitted metric (bot/recognition/metric.py) whitens and weighs each
block on its own. The whole-picture palette is the tagger's own tag vector (block "tags"), made by the
engine, so it is not computed twice. The head box is a square of HEAD_SCALE x the face side, centred on the
face and raised by HEAD_RAISE x its height (issue 14's measured recipe).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

from models.cnn_features import CnnFeatures
from models.face_detector import Detection
from models.faces import FaceFinder
from models.geometry import Box
from models.tagger import Tagger

FEATURES_VERSION = "blocks-1"
"""Bump when a block's recipe changes: the stored blocks of another version wait for `waifu-bot reindex`."""

PALETTE_FACE, PALETTE_HEAD, CNN_WHOLE, CNN_HEAD = "palette_face", "palette_head", "cnn_whole", "cnn_head"
FACE_BLOCKS = (PALETTE_FACE, PALETTE_HEAD, CNN_HEAD)
"""The blocks that exist only when a face was found."""
HEAD_SCALE = 2.0
HEAD_RAISE = 0.25
MIRROR_PREFIX = "mirror:"
"""CNN blocks of a reference's mirrored picture are stored beside its own under this prefix ("mirror:cnn_head").

Why: a character looks the same facing the other way, so a mirrored reference is a free second example of
her; the gallery counts both in the fitted metric (dimensions that change under mirroring are damped) and in
her profile. Queries are never mirrored, so answers cost the same. Only the CNN's blocks are mirrored: the
palette's regions are left-right symmetric, so a mirrored palette view would repeat the reference exactly,
and repeated views shrink the within-character spread towards zero (a degenerate whitening) for nothing.
Measured effect: README, "The offline default"."""


def features_identity(palette: str, cnn: str, detector: FaceFinder | None) -> str:
    """`blocks-N:palette+cnn+detector`: the recipe version and every model the blocks depend on."""
    return f"{FEATURES_VERSION}:{palette}+{cnn}+{detector.identity if detector is not None else 'no-faces'}"


def head_box(face: Box, size: tuple[int, int], scale: float = HEAD_SCALE, raise_by: float = HEAD_RAISE) -> Box:
    """A square of `scale` x the face side centred on the face, moved up by `raise_by` x face height, clipped."""
    x0, y0, x1, y1 = face
    width, height = size
    side = scale * max(x1 - x0, y1 - y0)
    cx = (x0 + x1) / 2
    cy = (y0 + y1) / 2 - raise_by * (y1 - y0)
    return (
        max(0, round(cx - side / 2)),
        max(0, round(cy - side / 2)),
        min(width, round(cx + side / 2)),
        min(height, round(cy + side / 2)),
    )


@dataclass(frozen=True)
class PictureBlocks:
    """The blocks of a picture's best face (or of the whole picture), every face found, and seconds per stage."""

    blocks: dict[str, np.ndarray]
    faces: tuple[Detection, ...]
    per_face: tuple[dict[str, np.ndarray], ...]
    """Face-box blocks of each face in `faces` (the first is also in `blocks`)."""
    nsfw: float | None
    seconds: dict[str, float] = field(default_factory=dict)
    mirrored: dict[str, np.ndarray] = field(default_factory=dict)
    """With `extract(mirror=True)`: `blocks` of the left-right mirrored picture (same names, no prefix)."""


class BlockExtractor:
    """The palette tagger, the CNN and an optional face finder, run on the crops of one decoded picture."""

    def __init__(self, palette: Tagger, cnn: CnnFeatures, detector: FaceFinder | None) -> None:
        self.palette = palette
        self.cnn = cnn
        self.detector = detector

    @property
    def identity(self) -> str:
        """Which recipe and models made the blocks; blocks of two identities are never compared."""
        return features_identity(self.palette.identity, self.cnn.identity, self.detector)

    def extract(self, picture: Image.Image, *, all_faces: bool = True, mirror: bool = False) -> PictureBlocks:
        """Blocks of the most likely face and the whole picture; with `all_faces`, face blocks of every face.

        With `mirror`, also the CNN blocks of the mirrored picture (its crops mirrored, in the same model run).
        """
        seconds: dict[str, float] = {}
        faces: tuple[Detection, ...] = ()
        if self.detector is not None:
            start = time.perf_counter()
            found = self.detector.detect(picture)
            faces = tuple(f for f in found if f.box[2] > f.box[0] and f.box[3] > f.box[1])
            seconds["detector"] = time.perf_counter() - start
        chosen = faces if all_faces else faces[:1]
        start = time.perf_counter()
        palette_crops: list[Image.Image] = []
        for face in chosen:
            palette_crops += [picture.crop(face.box), picture.crop(head_box(face.box, picture.size))]
        palette = self.palette.predict_batch(palette_crops) if palette_crops else np.zeros((0, 0))
        seconds["palette"] = time.perf_counter() - start
        start = time.perf_counter()
        cnn_crops = [picture] + [palette_crops[2 * i + 1] for i in range(len(chosen))]
        if mirror:  # the CNN only: the palette's regions are symmetric, a mirrored crop gives the same colours
            cnn_crops += [ImageOps.mirror(crop) for crop in [picture, *palette_crops[1:2]]]
        features, scores = self.cnn.run(cnn_crops)
        seconds["cnn"] = time.perf_counter() - start
        per_face = tuple(
            {
                PALETTE_FACE: np.asarray(palette[2 * i], dtype=np.float32),
                PALETTE_HEAD: np.asarray(palette[2 * i + 1], dtype=np.float32),
                CNN_HEAD: features[1 + i],
            }
            for i in range(len(chosen))
        )
        blocks = {CNN_WHOLE: features[0], **(per_face[0] if per_face else {})}
        mirrored: dict[str, np.ndarray] = {}
        if mirror:
            first = 1 + len(chosen)  # the mirrored whole picture's row, then the mirrored head crop's
            mirrored[CNN_WHOLE] = features[first]
            if chosen:
                mirrored[CNN_HEAD] = features[first + 1]
        return PictureBlocks(blocks, faces, per_face, float(scores[0]), seconds, mirrored)


def best_first(detections: Sequence[Detection]) -> list[Detection]:
    """Detections ordered by score, most likely first."""
    return sorted(detections, key=lambda detection: -detection.score)


def with_mirror(blocks: dict[str, np.ndarray], mirrored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One region's blocks and its mirrored picture's, as stored: the mirrored ones under MIRROR_PREFIX."""
    return {**blocks, **{MIRROR_PREFIX + name: vector for name, vector in mirrored.items()}}


def split_mirror(blocks: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A stored reference's own blocks and its mirrored picture's (empty for references made without one)."""
    own = {name: vector for name, vector in blocks.items() if not name.startswith(MIRROR_PREFIX)}
    mirrored = {name[len(MIRROR_PREFIX) :]: vector for name, vector in blocks.items() if name.startswith(MIRROR_PREFIX)}
    return own, mirrored
