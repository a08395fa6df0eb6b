"""Face detector conformance: input tensor, YOLOv8 decoding, NMS and boxes back in image pixels.

Facts checked (deepghs/imgutils `imgutils/generic/yolo.py`, `imgutils/detect/face.py`): the picture
is stretched to the metadata `imgsz` (default 640), RGB /255, NCHW; the output is [1, 4 + classes,
anchors] of centre-x, centre-y, width, height and class scores; confidence 0.25, IoU 0.7 with
sides counted as `x1 - x0 + 1` (`_yolo_nms`); labels come from the metadata `names`. The test
graphs output constant boxes whose scores scale with the mean red value of what they were fed, so
every expected number is computed here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.errors import ModelUnavailable
from models.face_detector import (
    LETTERBOX_FILL,
    Placement,
    boxes_to_original,
    decode_yolo,
    expand_box,
    load_face_detector,
    non_max_suppression,
    prepare_detector_input,
)
from models.sessions import SessionConfig
from tests.models.hub_graphs import yolo_graph

RED = (255, 0, 0)


def _xyxy_to_xywh(boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    return np.asarray([[(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0] for x0, y0, x1, y1 in boxes]).T


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def _detector(tmp_path: Path, boxes, scores, **kwargs):
    letterbox = kwargs.pop("letterbox", False)
    path = yolo_graph(tmp_path / "model.onnx", _xyxy_to_xywh(boxes), np.asarray([scores]), **kwargs)
    return load_face_detector(path, name="faces", version="t", session_config=SessionConfig(), letterbox=letterbox)


def test_metadata_gives_input_size_and_labels(tmp_path: Path) -> None:
    detector = _detector(tmp_path, [(0, 0, 10, 10)], [0.9], imgsz=(320, 480))
    assert detector.input_size == (480, 320)  # Ultralytics writes imgsz as [height, width]
    assert detector.labels == ("face",)
    assert (detector.confidence, detector.iou) == (0.25, 0.7)


def test_input_shape_is_the_fallback_without_imgsz(tmp_path: Path) -> None:
    detector = _detector(tmp_path, [(0, 0, 10, 10)], [0.9], imgsz=(256, 256), write_imgsz=False)
    assert detector.input_size == (256, 256)


def test_stretch_input_is_rgb_over_255_nchw_bicubic() -> None:
    rng = np.random.default_rng(4)
    image = Image.fromarray(rng.integers(0, 256, size=(50, 100, 3), dtype=np.uint8), "RGB")
    tensor, placement = prepare_detector_input(image, (64, 48))
    assert tensor.shape == (1, 3, 48, 64) and tensor.dtype == np.float32
    expected = np.asarray(image.resize((64, 48), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    np.testing.assert_allclose(tensor[0].transpose(1, 2, 0), expected, atol=1e-6)
    assert placement == Placement(64 / 100, 48 / 50)
    solid, _ = prepare_detector_input(Image.new("RGB", (10, 10), (255, 128, 0)), (32, 32))
    np.testing.assert_allclose(solid[0, :, 0, 0], [1.0, 128 / 255, 0.0], atol=1e-6)


def test_letterbox_keeps_aspect_with_grey_borders() -> None:
    tensor, placement = prepare_detector_input(Image.new("RGB", (1280, 320), RED), (640, 640), letterbox=True)
    assert placement == Placement(0.5, 0.5, 0.0, 240.0)  # 1280x320 -> 640x160, centred vertically
    grey = LETTERBOX_FILL[0] / 255
    np.testing.assert_allclose(tensor[0, :, :240], grey, atol=1e-6)
    np.testing.assert_allclose(tensor[0, :, 400:], grey, atol=1e-6)
    np.testing.assert_allclose(tensor[0, 0, 240:400], 1.0, atol=1e-6)
    np.testing.assert_allclose(tensor[0, 1:, 240:400], 0.0, atol=1e-6)


def test_boxes_scale_back_to_a_stretched_original(tmp_path: Path) -> None:
    detector = _detector(tmp_path, [(288, 256, 352, 384)], [0.9])
    (found,) = detector.detect(Image.new("RGB", (1280, 320), RED))
    assert found.box == (576, 128, 704, 192)  # x * 1280/640, y * 320/640
    assert found.label == "face" and found.score == pytest.approx(0.9, abs=1e-5)


def test_boxes_scale_back_through_a_letterbox(tmp_path: Path) -> None:
    detector = _detector(tmp_path, [(288, 256, 352, 384)], [0.9], letterbox=True)
    (found,) = detector.detect(Image.new("RGB", (1280, 320), RED))
    # red fills 160 of 640 rows, grey (114) the rest: mean red = (160 * 255 + 480 * 114) / 640 / 255
    expected_score = 0.9 * (160 * 255 + 480 * 114) / 640 / 255
    assert found.box == (576, 32, 704, 288)  # x / 0.5, (y - 240) / 0.5
    assert found.score == pytest.approx(expected_score, abs=5e-4)  # float32 mean of 409,600 pixels


def test_scores_follow_the_red_channel_scaled_to_0_1(tmp_path: Path) -> None:
    detector = _detector(tmp_path, [(100, 100, 200, 200)], [0.9])
    (found,) = detector.detect(Image.new("RGB", (640, 640), (128, 0, 0)))
    assert found.score == pytest.approx(0.9 * 128 / 255, abs=1e-5)
    assert detector.detect(Image.new("RGB", (640, 640), (0, 0, 255))) == []  # blue: score 0, below 0.25


def test_nms_drops_only_boxes_overlapping_a_better_one_above_0_7(tmp_path: Path) -> None:
    best = (100, 100, 200, 200)
    heavy_overlap = (110, 100, 210, 200)
    light_overlap = (125, 100, 225, 200)
    far_weak = (400, 400, 450, 450)
    far = (500, 100, 560, 160)
    assert _iou(best, heavy_overlap) > 0.7 > _iou(best, light_overlap) > 0.5
    assert _iou(heavy_overlap, light_overlap) > 0.7  # but heavy_overlap is gone before it can suppress
    detector = _detector(tmp_path, [best, heavy_overlap, light_overlap, far_weak, far], [0.9, 0.85, 0.8, 0.2, 0.5])
    found = detector.detect(Image.new("RGB", (640, 640), RED))
    assert [d.box for d in found] == [best, light_overlap, far]
    assert [d.score for d in found] == pytest.approx([0.9, 0.8, 0.5], abs=1e-5)


def test_non_max_suppression_keeps_best_first() -> None:
    boxes = np.asarray([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.asarray([0.5, 0.9, 0.7], dtype=np.float32)
    assert non_max_suppression(boxes, scores, 0.5).tolist() == [1, 2]
    assert non_max_suppression(boxes, scores, 0.99).tolist() == [1, 2, 0]
    assert non_max_suppression(np.zeros((0, 4)), np.zeros(0), 0.7).tolist() == []
    assert non_max_suppression(boxes, scores, 0.99, max_detections=2).tolist() == [1, 2]


def _inclusive_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """imgutils' IoU: a box covers both edge pixels, so every side is one pixel longer."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
    area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inter / (area_a + area_b - inter)


def test_nms_counts_edge_pixels_like_imgutils(tmp_path: Path) -> None:
    """A near-duplicate whose plain IoU is just under 0.7 is one face to imgutils (+1-pixel IoU just over 0.7)."""
    best = (100.0, 100.0, 120.0, 120.0)
    near_duplicate = (103.6, 100.0, 123.6, 120.0)
    assert _iou(best, near_duplicate) == pytest.approx(0.6949, abs=1e-4)
    assert _inclusive_iou(best, near_duplicate) == pytest.approx(0.7073, abs=1e-4)
    boxes = np.asarray([best, near_duplicate], dtype=np.float32)
    assert non_max_suppression(boxes, np.asarray([0.9, 0.8], dtype=np.float32), 0.7).tolist() == [0]
    detector = _detector(tmp_path, [best, near_duplicate], [0.9, 0.8])
    found = detector.detect(Image.new("RGB", (640, 640), RED))
    assert [d.box for d in found] == [(100, 100, 120, 120)]


def test_decode_accepts_an_unbatched_output_and_filters_by_confidence() -> None:
    raw = np.asarray([[50, 60], [50, 60], [20, 10], [20, 10], [0.25, 0.26]], dtype=np.float32)
    boxes, scores, classes = decode_yolo(raw, confidence=0.25, iou=0.7)
    np.testing.assert_allclose(boxes, [[55, 55, 65, 65]])  # the 0.25 box is not strictly above 0.25
    assert scores.tolist() == pytest.approx([0.26]) and classes.tolist() == [0]


def test_boxes_are_clipped_to_the_original_picture() -> None:
    boxes = np.asarray([[-20.0, -5.0, 700.0, 650.0]])
    assert boxes_to_original(boxes, Placement(1.0, 1.0), (640, 600)) == [(0, 0, 640, 600)]


def test_labels_that_do_not_match_the_output_are_refused(tmp_path: Path) -> None:
    detector = _detector(tmp_path, [(0, 0, 10, 10)], [0.9], names="{0: 'face', 1: 'head'}")
    assert detector.labels == ("face", "head")
    with pytest.raises(ModelUnavailable) as refused:
        detector.detect(Image.new("RGB", (64, 64), RED))
    assert "unexpected output" in refused.value.user_message


def test_expand_box_grows_and_clips() -> None:
    assert expand_box((10, 10, 30, 50), (40, 100), 0.25) == (5, 0, 35, 60)
