"""What inference sends back: small, picklable numbers, never PIL images or ORM objects.

These types are the contract between the place that runs models (in-process, or a pool worker)
and the services that rank characters. The pool pickles them across processes, so they hold only
numpy arrays, tuples and plain scalars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from models.geometry import Box  # re-exported: results and the engine name boxes through this contract


@dataclass(frozen=True)
class InferenceJob:
    """One image to analyse; `detect_faces` lets a caller skip detection (enrollment of a crop).

    `owner` names the submitter (a Discord user id, "batch"), so the pool can cap how many jobs one holds.
    `mirror` is for references only: queries are never mirrored, so an answer costs the same.
    """

    image: bytes
    detect_faces: bool = True
    owner: str | None = None
    mirror: bool = False
    """Also make the feature blocks of the mirrored picture (a reference's second view; models/blocks.py)."""
    largest_face: bool = False
    """Also embed the largest face the hub detector finds (a reference's face embedding: faces match faces)."""


@dataclass(frozen=True)
class RegionAnalysis:
    """The model outputs for one region: the whole image, or one detected face crop."""

    box: Box | None
    tag_probs: np.ndarray
    """float32 [n_tags]: the tagger's probabilities, indexed like the tagger's tag list."""
    embedding: np.ndarray | None = None
    """float32 [d]: the character embedding (CCIP) when enabled, else None."""
    detection_score: float | None = None
    blocks: dict[str, np.ndarray] = field(default_factory=dict)
    """Named feature blocks beyond the tags (models/blocks.py), float32 each; empty without feature blocks."""


@dataclass(frozen=True)
class ImageAnalysis:
    """Everything the services need to know about one image."""

    tagger: str
    """Model identity as `name@version`; vectors of different identities are never compared."""
    embedder: str | None
    whole: RegionAnalysis
    faces: tuple[RegionAnalysis, ...] = ()
    width: int = 0
    height: int = 0
    frame_count: int = 1
    phash: str = ""
    """Perceptual hash (imagehash.phash, hex) of the whole image, for near-duplicate checks."""
    rating: str | None = None
    """The tagger's most likely rating tag (general/sensitive/questionable/explicit), if it has ratings."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Facts worth telling the user, e.g. 'animated image: used the first of 12 frames'."""
    features: str | None = None
    """Identity of the recipe and models that made the regions' `blocks` (None without feature blocks)."""
    faces_found: int | None = None
    """Faces the feature blocks' detector found; None when no detector is installed."""
    nsfw: float | None = None
    """The bundled CNN's NSFW probability of the whole picture (a hint: see models/cnn_features.py)."""
    monochrome: bool = False
    """Greyscale or one tint (models/quality.py): colour features learn nothing from it."""
    input_side: int = 0
    """The largest input side of the models that read the picture; a smaller picture is upscaled for them."""
    face_embedding: np.ndarray | None = None
    """The embedder's vector of the largest face crop (`InferenceJob.largest_face`), None when none was found."""
    face_searched: bool = False
    """Whether the hub detector looked for that face (asked for, with a detector and an embedder installed)."""

    @property
    def regions(self) -> tuple[RegionAnalysis, ...]:
        """The regions to identify: each face crop when there are several faces, else the whole image.

        One face means one character, and CCIP is meant for a picture of one character: imgutils embeds it whole.
        A face crop (`box` set) is compared with the references' face crops, the whole with their wholes.
        """
        return self.faces if len(self.faces) > 1 else (self.whole,)


class Analyzer(Protocol):
    """Turns image bytes into an `ImageAnalysis`; implemented in-process and by the process pool."""

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Analyse one image; raises `ImageRejected` for bad input, `Busy`/`InferenceFailed` from a pool."""
        ...

    async def close(self) -> None:
        """Release workers and sessions."""
        ...
