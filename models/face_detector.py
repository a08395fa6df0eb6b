"""Anime face detection with a YOLOv8 ONNX model: pixels in, face boxes in original-image pixels out.

Preprocessing follows deepghs/imgutils, the reference consumer of deepghs/anime_face_detection:
stretch the RGB picture to the model's `imgsz` (from the ONNX metadata), /255, NCHW. Ultralytics'
own letterbox (grey 114 borders, aspect kept) is available as an option. The raw output is
[1, 4 + classes, anchors] with centre-x, centre-y, width, height in input pixels, then one score per
class; decoding, confidence filtering and NMS (with imgutils' +1-pixel IoU) are plain numpy.
"""

from __future__ import annotations

import ast
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from models.errors import ModelUnavailable
from models.geometry import Box
from models.rgb import to_rgb
from models.sessions import SessionConfig, create_session

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

DEFAULT_INPUT_SIZE = 640
DEFAULT_CONFIDENCE = 0.25
DEFAULT_IOU = 0.7
LETTERBOX_FILL = (114, 114, 114)
MAX_DETECTIONS = 300
"""Ultralytics' own cap; it bounds NMS time on a pathological output."""


@dataclass(frozen=True)
class Placement:
    """How the original picture sits in the model input: model = original * scale + pad."""

    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0


@dataclass(frozen=True)
class Detection:
    """One detected face: its box in original-image pixels (x0, y0, x1, y1), label and score."""

    box: Box
    label: str
    score: float


def prepare_detector_input(
    image: Image.Image, input_size: tuple[int, int], *, letterbox: bool = False
) -> tuple[np.ndarray, Placement]:
    """One YOLO input [1, 3, H, W] float32 RGB 0..1, and where the picture landed in it.

    `input_size` is (width, height). Stretching (the default) resizes with BICUBIC like imgutils;
    letterboxing keeps the aspect ratio with BILINEAR and grey borders like Ultralytics.
    """
    rgb = to_rgb(image)
    width, height = rgb.size
    target_w, target_h = input_size
    if letterbox:
        scale = min(target_w / width, target_h / height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (target_w - new_w) // 2, (target_h - new_h) // 2
        canvas = Image.new("RGB", (target_w, target_h), LETTERBOX_FILL)
        resized = rgb if (new_w, new_h) == (width, height) else rgb.resize((new_w, new_h), Image.Resampling.BILINEAR)
        canvas.paste(resized, (pad_x, pad_y))
        placement = Placement(new_w / width, new_h / height, float(pad_x), float(pad_y))
    else:
        canvas = (
            rgb
            if (width, height) == (target_w, target_h)
            else rgb.resize((target_w, target_h), Image.Resampling.BICUBIC)
        )
        placement = Placement(target_w / width, target_h / height)
    pixels = np.asarray(canvas, dtype=np.float32) / np.float32(255.0)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None]), placement


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one xyxy box with many, [M], with imgutils' inclusive-pixel convention.

    deepghs/imgutils (`_yolo_nms` in imgutils/generic/yolo.py, the reference consumer of these detectors)
    counts a box as covering both of its edge pixels: sides are `x1 - x0 + 1` in areas and intersections.
    That makes every overlap a little larger than the plain geometric IoU, so two near-duplicate boxes
    with a plain IoU just under 0.7 are still one face to imgutils, and must be one face here.
    """
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0 + 1, 0, None) * np.clip(y1 - y0 + 1, 0, None)
    area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    areas = (others[:, 2] - others[:, 0] + 1) * (others[:, 3] - others[:, 1] + 1)
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def non_max_suppression(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_detections: int = MAX_DETECTIONS
) -> np.ndarray:
    """Indices of the boxes kept, best first; a box overlapping a better one by IoU > threshold is dropped."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while order.size and len(kept) < max_detections:
        best = int(order[0])
        kept.append(best)
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(kept, dtype=np.int64)


def decode_yolo(output: np.ndarray, *, confidence: float, iou: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLOv8 raw output [1, 4 + classes, anchors] -> (xyxy boxes, scores, class ids) after NMS, in input pixels."""
    rows = np.asarray(output, dtype=np.float32)
    if rows.ndim == 3:
        rows = rows[0]
    if rows.ndim != 2 or rows.shape[0] < 5:
        raise ValueError(f"expected a YOLOv8 output [1, 4 + classes, anchors], got shape {np.shape(output)}")
    class_scores = rows[4:]
    scores = class_scores.max(axis=0)
    keep = scores > confidence
    centres = rows[:4, keep].T
    scores, classes = scores[keep], class_scores[:, keep].argmax(axis=0)
    boxes = np.stack(
        [
            centres[:, 0] - centres[:, 2] / 2,
            centres[:, 1] - centres[:, 3] / 2,
            centres[:, 0] + centres[:, 2] / 2,
            centres[:, 1] + centres[:, 3] / 2,
        ],
        axis=1,
    )
    kept = non_max_suppression(boxes, scores, iou)
    return boxes[kept], scores[kept], classes[kept]


def boxes_to_original(boxes: np.ndarray, placement: Placement, original_size: tuple[int, int]) -> list[Box]:
    """Model-input xyxy boxes back to whole pixels of the original picture, clipped to it."""
    width, height = original_size
    result: list[Box] = []
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64):
        xs = np.clip((np.array([x0, x1]) - placement.pad_x) / placement.scale_x, 0, width)
        ys = np.clip((np.array([y0, y1]) - placement.pad_y) / placement.scale_y, 0, height)
        x_low, x_high = (int(value) for value in np.rint(xs))
        y_low, y_high = (int(value) for value in np.rint(ys))
        result.append((x_low, y_low, x_high, y_high))
    return result


def read_detector_metadata(session: ort.InferenceSession) -> tuple[tuple[int, int], tuple[str, ...]]:
    """(input (width, height), labels) from the Ultralytics ONNX metadata, else from the input shape."""
    metadata = session.get_modelmeta().custom_metadata_map
    shape = session.get_inputs()[0].shape
    if "imgsz" in metadata:
        height, width = (int(side) for side in json.loads(metadata["imgsz"]))  # Ultralytics writes [h, w]
    elif len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        height, width = shape[2], shape[3]
    else:
        height = width = DEFAULT_INPUT_SIZE
    labels: tuple[str, ...] = ("face",)
    if "names" in metadata:
        names = ast.literal_eval(metadata["names"])
        labels = tuple(str(names[index]) for index in sorted(names))
    return (width, height), labels


class FaceDetector:
    """A loaded YOLO face detector with its thresholds; input size and labels come from the model."""

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        name: str,
        version: str,
        confidence: float = DEFAULT_CONFIDENCE,
        iou: float = DEFAULT_IOU,
        letterbox: bool = False,
    ) -> None:
        self.name = name
        self.version = version
        self.confidence = confidence
        self.iou = iou
        self.letterbox = letterbox
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self._output_name = session.get_outputs()[0].name
        self.input_size, self.labels = read_detector_metadata(session)

    @property
    def identity(self) -> str:
        """`name@version` of the detector, for logs and results."""
        return f"{self.name}@{self.version}"

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces in one picture, best first, with boxes in the picture's own pixels."""
        tensor, placement = prepare_detector_input(image, self.input_size, letterbox=self.letterbox)
        (output,) = self._session.run([self._output_name], {self._input_name: tensor})
        if np.shape(output)[-2] != 4 + len(self.labels):
            raise ModelUnavailable(
                f"The face detector {self.name} gives an unexpected output; fetch it again.",
                detail=f"output shape {np.shape(output)} for {len(self.labels)} labels",
            )
        boxes, scores, classes = decode_yolo(output, confidence=self.confidence, iou=self.iou)
        original = boxes_to_original(boxes, placement, image.size)
        return [
            Detection(box=box, label=self.labels[int(label)], score=float(score))
            for box, score, label in zip(original, scores, classes, strict=True)
        ]


def load_face_detector(
    model_path: Path,
    *,
    name: str,
    version: str,
    session_config: SessionConfig,
    confidence: float = DEFAULT_CONFIDENCE,
    iou: float = DEFAULT_IOU,
    letterbox: bool = False,
) -> FaceDetector:
    """Open a YOLO face detector file, failing clearly when its metadata cannot be read."""
    session = create_session(Path(model_path), session_config)
    try:
        detector = FaceDetector(
            session, name=name, version=version, confidence=confidence, iou=iou, letterbox=letterbox
        )
    except (ValueError, SyntaxError, KeyError, TypeError) as error:
        raise ModelUnavailable(
            f"The face detector {name} has unreadable metadata; fetch it again.", detail=f"{model_path}: {error!r}"
        ) from error
    log.info("loaded detector %s: input %s, labels %s", detector.identity, detector.input_size, detector.labels)
    return detector


def expand_box(box: Box, image_size: tuple[int, int], margin: float) -> Box:
    """A box grown by `margin` of its size on each side and clipped, so a face crop keeps hair and ears."""
    x0, y0, x1, y1 = box
    width, height = image_size
    grow_x, grow_y = (x1 - x0) * margin, (y1 - y0) * margin
    return (
        max(0, round(x0 - grow_x)),
        max(0, round(y0 - grow_y)),
        min(width, round(x1 + grow_x)),
        min(height, round(y1 + grow_y)),
    )
