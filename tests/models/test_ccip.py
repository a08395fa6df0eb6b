"""CCIP conformance: what the embedder feeds the model, and how it turns embeddings into decisions.

Facts checked (deepghs/imgutils `imgutils/metrics/ccip.py`): RGB, BILINEAR resize straight to
384x384 (no padding), /255, CLIP mean/std, NCHW; a metrics model maps [N, 768] features to an
[N, N] difference matrix; metrics.json ships `threshold` (0.1785 for ccip-caformer-24-randaug-pruned).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.ccip import CcipEmbedder, CcipMetric, load_ccip_embedder, prepare_ccip_input, read_threshold
from models.errors import ModelUnavailable
from models.sessions import SessionConfig, create_session
from tests.models.hub_graphs import CCIP_DIM, ccip_feature_graph, cosine_metrics_graph, flatten_graph

SIDE = 384
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
THRESHOLD = 0.17847511429108218


def _normalised(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 -> [3, H, W] with CLIP statistics, written out channel by channel."""
    channels = [(rgb[..., c].astype(np.float64) / 255.0 - MEAN[c]) / STD[c] for c in range(3)]
    return np.stack(channels).astype(np.float32)


def _write_ccip(root: Path, *, probe: bool = False, weights: np.ndarray | None = None) -> Path:
    if probe:
        flatten_graph(
            root / "model_feat.onnx",
            input_name="pixel_batch",
            output_name="character_vector",
            input_shape=["batch", 3, SIDE, SIDE],
            flat=3 * SIDE * SIDE,
        )
    else:
        ccip_feature_graph(root / "model_feat.onnx", weights)
    cosine_metrics_graph(root / "model_metrics.onnx")
    (root / "metrics.json").write_text(json.dumps({"threshold": THRESHOLD, "f1_score": 0.9}))
    return root


def test_uniform_colour_maps_to_clip_normalised_values() -> None:
    tensor = prepare_ccip_input(Image.new("RGB", (50, 30), (255, 0, 128)))
    assert tensor.shape == (3, SIDE, SIDE) and tensor.dtype == np.float32
    by_hand = [(1 - 0.48145466) / 0.26862954, (0 - 0.4578275) / 0.26130258, (128 / 255 - 0.40821073) / 0.27577711]
    for channel, value in enumerate(by_hand):
        np.testing.assert_allclose(tensor[channel], value, rtol=1e-6)  # every pixel: stretched, never padded


def test_embedder_feeds_a_bilinear_stretch_without_padding(tmp_path: Path) -> None:
    embedder = load_ccip_embedder(
        _write_ccip(tmp_path, probe=True), name="probe", version="1", session_config=SessionConfig()
    )
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, size=(60, 100, 3), dtype=np.uint8), "RGB")
    fed = embedder.embed(image).reshape(3, SIDE, SIDE)
    bilinear = _normalised(np.asarray(image.resize((SIDE, SIDE), Image.Resampling.BILINEAR)))
    bicubic = _normalised(np.asarray(image.resize((SIDE, SIDE), Image.Resampling.BICUBIC)))
    np.testing.assert_allclose(fed, bilinear, atol=1e-5)
    assert np.abs(bicubic - bilinear).max() > 0.1  # the comparison above can tell the filters apart


def test_channel_order_is_rgb(tmp_path: Path) -> None:
    embedder = load_ccip_embedder(
        _write_ccip(tmp_path, probe=True), name="probe", version="1", session_config=SessionConfig()
    )
    fed = embedder.embed(Image.new("RGB", (SIDE, SIDE), (255, 0, 0))).reshape(3, SIDE, SIDE)
    np.testing.assert_allclose(fed[0], (1 - MEAN[0]) / STD[0], rtol=1e-6)
    np.testing.assert_allclose(fed[2], (0 - MEAN[2]) / STD[2], rtol=1e-6)


def test_real_signature_embedding_is_768_float32(tmp_path: Path) -> None:
    weights = np.random.default_rng(11).normal(size=(3, CCIP_DIM)).astype(np.float32)
    embedder = load_ccip_embedder(
        _write_ccip(tmp_path, weights=weights), name="ccip", version="abc", session_config=SessionConfig()
    )
    colour = (10, 200, 90)
    vector = embedder.embed(Image.new("RGB", (200, 320), colour))
    expected = np.asarray([(colour[c] / 255 - MEAN[c]) / STD[c] for c in range(3)]) @ weights
    assert vector.shape == (CCIP_DIM,) and vector.dtype == np.float32
    np.testing.assert_allclose(vector, expected, atol=2e-3)  # float32 ReduceMean over 147k pixels
    assert embedder.identity == "ccip@abc" and embedder.input_size == SIDE
    assert embedder.embed_batch([Image.new("RGB", (8, 8), colour)] * 3).shape == (3, CCIP_DIM)


@pytest.fixture
def embedder(tmp_path: Path) -> CcipEmbedder:
    return load_ccip_embedder(_write_ccip(tmp_path), name="ccip", version="1", session_config=SessionConfig())


def _one_minus_cosine(query: np.ndarray, references: np.ndarray) -> np.ndarray:
    unit = references / np.linalg.norm(references, axis=1, keepdims=True)
    return 1 - unit @ (query / np.linalg.norm(query))


def test_difference_comes_from_the_metrics_model(embedder: CcipEmbedder) -> None:
    rng = np.random.default_rng(2)
    first, second = rng.normal(size=(2, CCIP_DIM)).astype(np.float32)
    assert embedder.difference(first, first) == pytest.approx(0.0, abs=1e-5)
    assert embedder.difference(first, second) == pytest.approx(_one_minus_cosine(second, first[None])[0], abs=1e-5)
    matrix = embedder.differences(np.stack([first, second, first]))
    assert matrix.shape == (3, 3)
    np.testing.assert_allclose(np.diag(matrix), 0.0, atol=1e-5)


def test_differences_to_many_references_spans_chunks(embedder: CcipEmbedder) -> None:
    rng = np.random.default_rng(9)
    query = rng.normal(size=CCIP_DIM).astype(np.float32)
    references = rng.normal(size=(600, CCIP_DIM)).astype(np.float32)
    references[417] = query * 3  # same direction: difference 0 wherever the chunk boundaries fall
    found = embedder.differences_to(query, references)
    assert found.shape == (600,)
    np.testing.assert_allclose(found, _one_minus_cosine(query, references), atol=1e-5)
    assert int(np.argmin(found)) == 417
    assert embedder.differences_to(query, np.zeros((0, CCIP_DIM), dtype=np.float32)).shape == (0,)


def test_threshold_comes_from_metrics_json(embedder: CcipEmbedder) -> None:
    assert embedder.threshold == pytest.approx(THRESHOLD)
    assert embedder.is_same_character(0.17) and not embedder.is_same_character(0.19)


def test_missing_or_damaged_metrics_file_is_a_clear_error(tmp_path: Path) -> None:
    root = _write_ccip(tmp_path)
    (root / "metrics.json").write_text("{not json")
    with pytest.raises(ModelUnavailable) as damaged:
        read_threshold(root / "metrics.json")
    assert "damaged" in damaged.value.user_message
    (root / "metrics.json").unlink()
    with pytest.raises(ModelUnavailable) as missing:
        load_ccip_embedder(root, name="ccip", version="1", session_config=SessionConfig())
    assert "missing" in missing.value.user_message


def test_a_non_ccip_input_is_refused(tmp_path: Path) -> None:
    flatten_graph(tmp_path / "nhwc.onnx", input_name="x", output_name="y", input_shape=["b", 8, 8, 3], flat=192)
    cosine_metrics_graph(tmp_path / "metrics.onnx")
    config = SessionConfig()
    with pytest.raises(ModelUnavailable) as refused:
        CcipEmbedder(
            create_session(tmp_path / "nhwc.onnx", config),
            CcipMetric(create_session(tmp_path / "metrics.onnx", config), THRESHOLD, name="wrong", version="1"),
        )
    assert "CCIP input" in refused.value.user_message
