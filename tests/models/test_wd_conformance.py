"""The WD v3 tagger runtime feeds a model exactly what SmilingWolf's taggers expect.

Expected values are computed here from first principles (white canvas, centred paste, BICUBIC,
BGR, 0..255, NHWC), against graphs with the real signature: NHWC float input of side 448, one output
column per row of selected_tags.csv (10,861 tags, 2,751 characters in v3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.sessions import SessionConfig
from models.tagger import TagCategory, load_tagger
from tests.models.hub_graphs import channel_mean_graph, flatten_graph, write_wd_tags

PROBE_SIDE = 16
WD_SIDE = 448
WD_TAGS = 10_861
WD_CHARACTERS = 2_751


def _probe_tagger(root: Path):
    """A tagger whose 'probabilities' are the raw input pixels, so the test sees the tensor itself."""
    flat = PROBE_SIDE * PROBE_SIDE * 3
    flatten_graph(
        root / "model.onnx",
        input_name="nhwc_pixels",
        output_name="probe_out",
        input_shape=["batch", PROBE_SIDE, PROBE_SIDE, 3],
        flat=flat,
    )
    write_wd_tags(root / "selected_tags.csv", flat)
    return load_tagger(root, name="probe", version="1", session_config=SessionConfig())


def _fed(tagger, image: Image.Image) -> np.ndarray:
    return tagger.predict(image).reshape(PROBE_SIDE, PROBE_SIDE, 3)


def _gradient(width: int, height: int) -> Image.Image:
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    rgb = np.stack([xs * 10, ys * 12, np.full_like(xs, 200)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def test_wide_image_is_centred_on_white_rows_in_bgr_0_to_255(tmp_path: Path) -> None:
    tagger = _probe_tagger(tmp_path)
    fed = _fed(tagger, _gradient(16, 10))
    top = (16 - 10) // 2
    assert np.all(fed[:top] == 255) and np.all(fed[top + 10 :] == 255)
    for y in range(10):
        for x in range(16):
            assert tuple(fed[top + y, x]) == (200, y * 12, x * 10)  # B, G, R


def test_tall_image_is_centred_on_white_columns(tmp_path: Path) -> None:
    tagger = _probe_tagger(tmp_path)
    fed = _fed(tagger, _gradient(9, 16))
    left = (16 - 9) // 2
    assert np.all(fed[:, :left] == 255) and np.all(fed[:, left + 9 :] == 255)
    assert tuple(fed[5, left + 4]) == (200, 5 * 12, 4 * 10)


def test_transparent_pixels_become_white(tmp_path: Path) -> None:
    tagger = _probe_tagger(tmp_path)
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red everywhere
    rgba[:, 8:, 3] = 255  # right half opaque, left half fully transparent
    fed = _fed(tagger, Image.fromarray(rgba, "RGBA"))
    assert np.all(fed[:, :8] == 255)
    assert np.all(fed[:, 8:] == np.asarray([0, 0, 255], dtype=np.float32))


def test_resize_filter_is_bicubic_after_padding(tmp_path: Path) -> None:
    tagger = _probe_tagger(tmp_path)
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, size=(30, 48, 3), dtype=np.uint8), "RGB")
    canvas = Image.new("RGB", (48, 48), (255, 255, 255))
    canvas.paste(image, (0, (48 - 30) // 2))
    bicubic = np.asarray(canvas.resize((16, 16), Image.Resampling.BICUBIC), dtype=np.float32)[..., ::-1]
    bilinear = np.asarray(canvas.resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float32)[..., ::-1]
    fed = _fed(tagger, image)
    np.testing.assert_array_equal(fed, bicubic)
    assert np.abs(bicubic - bilinear).max() > 5  # the check above can tell the filters apart


@pytest.fixture
def wd_signature_tagger(tmp_path: Path):
    """A graph with the real v3 signature; columns 0..2 read the mean B, G and R of the fed image /255."""
    weights = np.zeros((3, WD_TAGS), dtype=np.float32)
    weights[0, 0] = weights[1, 1] = weights[2, 2] = 1 / 255
    channel_mean_graph(
        tmp_path / "model.onnx",
        input_name="images_nhwc",
        output_name="tag_probabilities",
        input_shape=["batch", WD_SIDE, WD_SIDE, 3],
        axes=[1, 2],
        weights=weights,
    )
    write_wd_tags(tmp_path / "selected_tags.csv", WD_TAGS, n_characters=WD_CHARACTERS)
    return load_tagger(tmp_path, name="wd-signature", version="test", session_config=SessionConfig())


def test_real_signature_graph_loads_with_its_tag_categories(wd_signature_tagger) -> None:
    tagger = wd_signature_tagger
    assert tagger.input_size == WD_SIDE
    assert len(tagger.tags) == WD_TAGS
    assert list(tagger.tags.indices(TagCategory.RATING)) == [0, 1, 2, 3]
    assert len(tagger.tags.indices(TagCategory.CHARACTER)) == WD_CHARACTERS


def test_real_signature_graph_sees_padded_bgr_means(wd_signature_tagger) -> None:
    colour = (200, 100, 50)
    image = Image.new("RGB", (WD_SIDE, 300), colour)  # wide: padded, no resize needed
    white_rows = WD_SIDE - 300
    expected_bgr = [(c * 300 + 255 * white_rows) / WD_SIDE / 255 for c in reversed(colour)]
    probs = wd_signature_tagger.predict_batch([image, Image.new("RGB", (WD_SIDE, WD_SIDE), (0, 0, 255))])
    assert probs.shape == (2, WD_TAGS) and probs.dtype == np.float32
    np.testing.assert_allclose(probs[0, :3], expected_bgr, rtol=1e-5)
    np.testing.assert_allclose(probs[1, :3], [1.0, 0.0, 0.0], atol=1e-6)  # pure blue is channel 0 in BGR
