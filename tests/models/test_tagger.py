"""The WD tagger runtime against graphs built here, with every expected value computed independently."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from models.errors import ModelUnavailable
from models.preprocess import prepare_tagger_input
from models.sessions import SessionConfig
from models.tagger import TagCategory, load_tagger, read_selected_tags

SIZE = 32
INPUT_NAME = "zz_pixels:0"
OUTPUT_NAME = "odd/probabilities_out"


def write_tags(model_dir: Path, rows: list[tuple[str, int]]) -> None:
    """A selected_tags.csv in the WD layout."""
    with (model_dir / "selected_tags.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for tag_id, (name, category) in enumerate(rows):
            writer.writerow([tag_id, name, category, 100 + tag_id])


def save_graph(model_dir: Path, nodes: list, n_outputs: int, initializers: list, batch: str | int = "n") -> None:
    """Save a graph with the WD signature [batch, SIZE, SIZE, 3] -> [batch, n_outputs] under unusual names."""
    model_dir.mkdir(parents=True, exist_ok=True)
    graph = helper.make_graph(
        nodes,
        "wd_like",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [batch, SIZE, SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [batch, n_outputs])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(model_dir / "model.onnx"))


def echo_tagger_dir(root: Path) -> Path:
    """A tagger whose 'probabilities' are its input tensor flattened: it shows exactly what it was fed."""
    model_dir = root / "echo"
    shape = numpy_helper.from_array(np.array([0, SIZE * SIZE * 3], dtype=np.int64), "flat_shape")
    save_graph(
        model_dir, [helper.make_node("Reshape", [INPUT_NAME, "flat_shape"], [OUTPUT_NAME])], SIZE**2 * 3, [shape]
    )
    write_tags(model_dir, [(f"px_{i}", 0) for i in range(SIZE * SIZE * 3)])
    return model_dir


def channel_mean_tagger_dir(root: Path) -> Path:
    """A tagger whose three tags are sigmoid((mean of each input channel - 128) / 64), in input order."""
    model_dir = root / "means"
    initializers = [
        numpy_helper.from_array(np.array(128.0, dtype=np.float32), "centre"),
        numpy_helper.from_array(np.array(1 / 64, dtype=np.float32), "scale"),
    ]
    nodes = [
        helper.make_node("ReduceMean", [INPUT_NAME], ["channel_means"], axes=[1, 2], keepdims=0),
        helper.make_node("Sub", ["channel_means", "centre"], ["centred"]),
        helper.make_node("Mul", ["centred", "scale"], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], [OUTPUT_NAME]),
    ]
    save_graph(model_dir, nodes, 3, initializers)
    write_tags(model_dir, [("first_channel", 0), ("second_channel", 4), ("third_channel", 9)])
    return model_dir


def load(model_dir: Path):
    return load_tagger(model_dir, name="test", version="1", session_config=SessionConfig())


def as_nhwc(flat: np.ndarray) -> np.ndarray:
    return flat.reshape(SIZE, SIZE, 3)


def keys_cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, the BICUBIC filter."""
    x = np.abs(x)
    a = -0.5
    near = (a + 2) * x**3 - (a + 3) * x**2 + 1
    far = a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def bicubic_axis(values: np.ndarray, out: int, axis: int) -> np.ndarray:
    """Separable bicubic resampling along one axis (stretched kernel when shrinking), rounded to uint8 levels."""
    n = values.shape[axis]
    scale = n / out
    stretch = max(scale, 1.0)
    centres = (np.arange(out) + 0.5) * scale
    weights = keys_cubic((np.arange(n)[None, :] + 0.5 - centres[:, None]) / stretch)
    weights /= weights.sum(axis=1, keepdims=True)
    moved = np.tensordot(weights, np.moveaxis(values, axis, 0), axes=1)
    return np.clip(np.round(np.moveaxis(moved, 0, axis)), 0, 255)


def test_names_and_size_come_from_the_session(tmp_path: Path) -> None:
    tagger = load(echo_tagger_dir(tmp_path))
    assert tagger.input_size == SIZE
    assert tagger._input_name == INPUT_NAME
    assert tagger._output_name == OUTPUT_NAME
    assert tagger.identity == "test@1"


def test_padding_is_white_centred_and_layout_is_nhwc_bgr(tmp_path: Path) -> None:
    tagger = load(echo_tagger_dir(tmp_path))
    # a wide picture, pure red: after padding to a square the top and bottom quarters are white
    fed = as_nhwc(tagger.predict(Image.new("RGB", (64, 32), (255, 0, 0))))
    assert fed.dtype == np.float32
    assert np.array_equal(fed[0, 0], [255, 255, 255])
    assert np.array_equal(fed[SIZE - 1, SIZE // 2], [255, 255, 255])
    assert np.array_equal(fed[SIZE // 2, 0], [0, 0, 255])  # red, in B, G, R order
    assert np.array_equal(fed[SIZE // 2, SIZE - 1], [0, 0, 255])
    # the content sits in the middle half of the rows (with a one-row BICUBIC transition each side)
    red_rows = np.flatnonzero((fed[:, SIZE // 2] == [0, 0, 255]).all(axis=1))
    assert red_rows.min() in (SIZE // 4, SIZE // 4 + 1)
    assert red_rows.max() in (3 * SIZE // 4 - 1, 3 * SIZE // 4 - 2)
    assert fed.max() == 255.0  # 0..255, not 0..1


def test_channel_order_with_three_distinct_channels(tmp_path: Path) -> None:
    tagger = load(echo_tagger_dir(tmp_path))
    fed = as_nhwc(tagger.predict(Image.new("RGB", (SIZE, SIZE), (10, 100, 200))))
    assert np.array_equal(fed[5, 7], [200, 100, 10])


def test_resize_filter_is_bicubic(tmp_path: Path) -> None:
    tagger = load(echo_tagger_dir(tmp_path))
    rng = np.random.default_rng(7)
    for shape in [(20, 20), (48, 48)]:  # one upscale, one downscale (kernel stretched)
        pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        fed = as_nhwc(tagger.predict(Image.fromarray(pixels)))
        expected = bicubic_axis(bicubic_axis(pixels.astype(np.float64), SIZE, 1), SIZE, 0)[:, :, ::-1]
        assert np.abs(fed - expected).max() <= 1.0  # Pillow's fixed-point arithmetic rounds by at most one level
        bilinear = np.asarray(Image.fromarray(pixels).resize((SIZE, SIZE), Image.Resampling.BILINEAR))[:, :, ::-1]
        assert np.abs(fed - bilinear).mean() > 2.0


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    tagger = load(echo_tagger_dir(tmp_path))
    rgba = Image.new("RGBA", (SIZE, SIZE), (0, 0, 255, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, SIZE // 2, SIZE))
    fed = as_nhwc(tagger.predict(rgba))
    assert np.array_equal(fed[3, 3], [255, 0, 0])  # opaque blue half, BGR
    assert np.array_equal(fed[3, SIZE - 3], [255, 255, 255])  # transparent half is white, not blue or black


def test_outputs_are_taken_as_they_are(tmp_path: Path) -> None:
    tagger = load(channel_mean_tagger_dir(tmp_path))
    image = Image.new("RGB", (SIZE, SIZE), (30, 160, 250))
    image.paste((0, 0, 0), (0, 0, SIZE, SIZE // 4))
    probs = tagger.predict(image)
    rows = np.array([[0.0, 0.0, 0.0]] * (SIZE // 4) + [[30.0, 160.0, 250.0]] * (SIZE - SIZE // 4))
    bgr_means = rows.mean(axis=0)[::-1]
    expected = 1 / (1 + np.exp(-(bgr_means - 128) / 64))
    np.testing.assert_allclose(probs, expected, rtol=1e-5)
    assert probs.dtype == np.float32


def test_batch_equals_single(tmp_path: Path) -> None:
    tagger = load(channel_mean_tagger_dir(tmp_path))
    images = [Image.new("RGB", (40 + 7 * i, 30), (20 * i, 255 - 30 * i, 90)) for i in range(4)]
    batch = tagger.predict_batch(images)
    assert batch.shape == (4, 3)
    for image, row in zip(images, batch, strict=True):
        np.testing.assert_allclose(row, tagger.predict(image), rtol=1e-6)
    assert tagger.predict_batch([]).shape == (0, 3)


def test_fixed_batch_of_one_is_run_image_by_image(tmp_path: Path) -> None:
    model_dir = tmp_path / "fixed"
    shape = numpy_helper.from_array(np.array([1, SIZE * SIZE * 3], dtype=np.int64), "flat_shape")
    nodes = [helper.make_node("Reshape", [INPUT_NAME, "flat_shape"], [OUTPUT_NAME])]
    save_graph(model_dir, nodes, SIZE * SIZE * 3, [shape], batch=1)
    write_tags(model_dir, [(f"px_{i}", 0) for i in range(SIZE * SIZE * 3)])
    tagger = load(model_dir)
    images = [Image.new("RGB", (SIZE, SIZE), (i * 50, 0, 0)) for i in range(3)]
    batch = tagger.predict_batch(images)
    assert [as_nhwc(row)[0, 0, 2] for row in batch] == [0, 50, 100]


def test_tag_list_categories(tmp_path: Path) -> None:
    tags = read_selected_tags(channel_mean_tagger_dir(tmp_path) / "selected_tags.csv")
    assert tags.names == ("first_channel", "second_channel", "third_channel")
    assert tags.categories.dtype == np.int16
    assert tags.indices(TagCategory.CHARACTER).tolist() == [1]
    assert tags.indices(TagCategory.RATING).tolist() == [2]
    assert tags.counts.tolist() == [100, 101, 102]


def test_output_width_must_match_tag_count(tmp_path: Path) -> None:
    model_dir = channel_mean_tagger_dir(tmp_path)
    write_tags(model_dir, [("a", 0), ("b", 0)])
    with pytest.raises(ModelUnavailable, match="3 outputs but the tag list has 2") as caught:
        load(model_dir)
    assert "does not match" in caught.value.user_message


@pytest.mark.parametrize("missing", ["dir", "model.onnx", "selected_tags.csv"])
def test_missing_parts_are_a_clear_error(tmp_path: Path, missing: str) -> None:
    model_dir = channel_mean_tagger_dir(tmp_path)
    if missing == "dir":
        model_dir = tmp_path / "nowhere"
    else:
        (model_dir / missing).unlink()
    with pytest.raises(ModelUnavailable) as caught:
        load(model_dir)
    assert caught.value.user_message


def test_a_csv_without_wd_columns_is_refused(tmp_path: Path) -> None:
    model_dir = channel_mean_tagger_dir(tmp_path)
    (model_dir / "selected_tags.csv").write_text("id,label\n0,a\n1,b\n2,c\n", encoding="utf-8")
    with pytest.raises(ModelUnavailable) as caught:
        load(model_dir)
    assert "not in the WD format" in caught.value.user_message


def test_non_square_input_is_refused(tmp_path: Path) -> None:
    model_dir = tmp_path / "nchw"
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)],
        "nchw",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model_dir.mkdir()
    onnx.save(model, str(model_dir / "model.onnx"))
    write_tags(model_dir, [("a", 0), ("b", 0), ("c", 0)])
    with pytest.raises(ModelUnavailable, match=r"expected \[batch, size, size, 3\]") as caught:
        load(model_dir)
    assert "format" in caught.value.user_message


def test_prepare_input_without_a_model() -> None:
    image = Image.new("RGB", (4, 12), (1, 2, 3))  # already the size once padded: no resampling
    prepared = prepare_tagger_input(image, 12)
    assert prepared.shape == (12, 12, 3)
    assert prepared.dtype == np.float32
    assert np.array_equal(prepared[6, 6], [3, 2, 1])
    assert np.array_equal(prepared[6, 0], [255, 255, 255])
    assert np.array_equal(prepared[:, 4:8], np.broadcast_to([3.0, 2.0, 1.0], (12, 4, 3)))


_PREPARE_A_THIN_LINE = """
import resource, sys
import numpy as np
from PIL import Image
from models.preprocess import prepare_tagger_input
limit = 4_000_000_000  # the white square of 200000x1 alone would need 160 GB
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
prepared = prepare_tagger_input(Image.new("RGB", (200_000, 1), (0, 0, 255)), 64)
print(prepared.shape, float(prepared.min()))
"""


def test_an_extreme_aspect_ratio_is_prepared_without_a_giant_white_square() -> None:
    """A 664-byte PNG of 200000x1 pixels passes the pixel cap; padding it to a square first would exhaust memory."""
    quiet_threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    run = subprocess.run(
        [sys.executable, "-c", _PREPARE_A_THIN_LINE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **quiet_threads},  # thread stacks count against the address-space limit
    )
    assert run.returncode == 0, run.stderr[-2000:]
    shape, darkest = run.stdout.split(")")
    assert shape == "(64, 64, 3"
    # A 1-pixel line scaled by 64/200000 all but vanishes into the white padding.
    assert float(darkest) > 250


def test_a_wide_picture_prepares_like_its_padded_square() -> None:
    """Shrinking before padding must not move the picture: a wide stripe still lands centred across the square."""
    wide = Image.new("RGB", (8000, 2000), (255, 255, 255))
    wide.paste((0, 0, 255), (0, 0, 8000, 2000))
    prepared = prepare_tagger_input(wide, 64)
    rows_blue = np.flatnonzero(prepared[:, 32, 2] < 128)  # BGR: white has red, the blue stripe has none
    assert rows_blue.min() >= 23 and rows_blue.max() <= 40  # 2000/8000 of 64 rows = 16, centred at 32
    assert np.array_equal(prepared[0, 32], [255, 255, 255]) and np.array_equal(prepared[63, 32], [255, 255, 255])
