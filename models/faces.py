"""The detector interface: the hub YOLO `FaceDetector` and the bundled `AnimeFaceDetector` both satisfy it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PIL import Image

from models.face_detector import Detection


class FaceFinder(Protocol):
    """Picture in, face boxes (in its own pixels, best first) out; `input_size` sizes the JPEG draft."""

    input_size: tuple[int, int]

    @property
    def identity(self) -> str:
        """`name@version` of the detector."""
        ...

    def detect(self, image: Image.Image) -> Sequence[Detection]:
        """Faces in one picture, best first."""
        ...
