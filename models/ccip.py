"""CCIP character embeddings: one vector per picture, and the model's own learned difference between two.

The feature model turns a picture into a 768-d vector; the tiny metrics model turns a stack of
vectors into their pairwise differences, and `metrics.json` ships the calibrated same-character
threshold (about 0.178 for ccip-caformer-24-randaug-pruned). Tensor names come from the sessions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from models.errors import ModelUnavailable
from models.metric_chunks import MAX_ROWS, SMALL_CALL, RunCost, best_chunk, chunk_bounds, measure_run_cost
from models.rgb import to_rgb
from models.sessions import SessionConfig, create_session

if TYPE_CHECKING:
    import onnxruntime as ort  # sessions come from models.sessions, which imports it when one opens

log = logging.getLogger(__name__)

FEATURE_FILE = "model_feat.onnx"
METRICS_MODEL_FILE = "model_metrics.onnx"
METRICS_FILE = "metrics.json"
DEFAULT_INPUT_SIZE = 384
CLIP_MEAN = np.asarray([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.asarray([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
QUERY_GROUP = MAX_ROWS // 2
"""Queries sharing one run at most, so a run keeps room for as many references."""


def prepare_ccip_input(image: Image.Image, size: int = DEFAULT_INPUT_SIZE) -> np.ndarray:
    """One CCIP input: [3, size, size] float32, RGB, BILINEAR-stretched (no pad), /255, CLIP mean/std."""
    rgb = to_rgb(image)
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float32) / np.float32(255.0)
    normalised = (pixels - CLIP_MEAN) / CLIP_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1), dtype=np.float32)


class CcipMetric:
    """The small CCIP metrics model and its threshold: differences between embeddings, nothing else.

    A process that only compares (the bot's main process while pool workers embed) loads just this;
    `CcipEmbedder` holds one too, so there is a single place that runs the metrics graph.
    """

    def __init__(
        self,
        metrics_session: ort.InferenceSession,
        threshold: float,
        *,
        name: str,
        version: str,
        chunk: int | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.threshold = float(threshold)
        self._session = metrics_session
        self._input = metrics_session.get_inputs()[0].name
        self._output = metrics_session.get_outputs()[0].name
        self._chunk = None if chunk is None else max(1, int(chunk))
        """References per run when fixed; None: measured (`RunCost`) on the first call that needs it."""
        self._cost: RunCost | None = None

    @property
    def identity(self) -> str:
        """`name@version`: embeddings of different identities must never be compared."""
        return f"{self.name}@{self.version}"

    def differences(self, features: np.ndarray) -> np.ndarray:
        """Pairwise differences of a stack of embeddings, [N, N], as the metrics model computes them."""
        stack = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
        if stack.ndim != 2 or len(stack) == 0:
            raise ValueError(f"differences needs a non-empty [N, d] stack, got shape {stack.shape}")
        (output,) = self._session.run([self._output], {self._input: stack})
        return np.asarray(output, dtype=np.float32).reshape(len(stack), len(stack))

    def difference(self, first: np.ndarray, second: np.ndarray) -> float:
        """The difference between two embeddings; at or below `threshold` means the same character."""
        return float(self.differences(np.stack([first, second]))[0, 1])

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from one embedding to many, [M] (see `differences_many`)."""
        return self.differences_many(np.asarray(query, dtype=np.float32).reshape(1, -1), references)[0]

    def differences_many(self, queries: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from each of Q embeddings to each of M, [Q, M], the queries sharing every run.

        A run over queries and c references computes all their pairs, so c is what makes the whole call
        cheapest for this session (`models.metric_chunks`), not a fixed 255: with one query that wasted
        all but 1/c of the pairs computed.
        """
        queries = np.asarray(queries, dtype=np.float32)
        references = np.asarray(references, dtype=np.float32)
        if references.ndim != 2 or queries.ndim != 2 or len(queries) == 0:
            raise ValueError(f"needs [Q, d] queries and [M, d] references, got {queries.shape} and {references.shape}")
        found = np.zeros((len(queries), len(references)), dtype=np.float32)
        for first in range(0, len(queries), QUERY_GROUP):
            group = queries[first : first + QUERY_GROUP]
            for start, stop in chunk_bounds(len(references), self.chunk_for(len(group), references.shape)):
                matrix = self.differences(np.concatenate([group, references[start:stop]]))
                found[first : first + len(group), start:stop] = matrix[: len(group), len(group) :]
        return found

    @property
    def run_cost(self) -> RunCost | None:
        """The measured cost of one metrics run, once a call has needed it (None before, or with a fixed chunk)."""
        return self._cost

    def chunk_for(self, queries: int, references: tuple[int, int]) -> int:
        """References per run for Q queries against [M, d] references: the fixed `chunk`, else the measured best."""
        count, dim = references
        if self._chunk is not None:
            return self._chunk
        if count <= SMALL_CALL:
            return max(1, count)
        if self._cost is None:
            self._cost = measure_run_cost(self.differences, dim)
            log.info(
                "metrics runs of %s cost %s; one query against 256 references gets %d per run",
                self.identity,
                self._cost,
                best_chunk(self._cost, 1, MAX_ROWS),
            )
        return best_chunk(self._cost, queries, count)

    def is_same_character(self, difference: float) -> bool:
        """The model's own calibrated decision for one difference value."""
        return difference <= self.threshold


class CcipEmbedder:
    """A loaded CCIP model pair: embeddings in (the feature model), differences out (its `metric`)."""

    def __init__(self, feature_session: ort.InferenceSession, metric: CcipMetric) -> None:
        self.metric = metric
        self.name = metric.name
        self.version = metric.version
        self.threshold = metric.threshold
        self._feature_session = feature_session
        feature_input = feature_session.get_inputs()[0]
        self._feature_input = feature_input.name
        self._feature_output = feature_session.get_outputs()[0].name
        self.input_size = _square_nchw_size(feature_input.shape, metric.name)
        batch = feature_input.shape[0]
        self._fixed_batch = batch if isinstance(batch, int) else None

    @property
    def identity(self) -> str:
        """`name@version`: embeddings of different identities must never be compared."""
        return self.metric.identity

    def embed(self, image: Image.Image) -> np.ndarray:
        """The character embedding of one picture, float32 [d]."""
        return self.embed_batch([image])[0]

    def embed_batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Embeddings of several pictures, float32 [N, d]."""
        if not images:
            raise ValueError("embed_batch needs at least one image")
        batch = np.stack([prepare_ccip_input(image, self.input_size) for image in images])
        if self._fixed_batch is not None and self._fixed_batch != len(images):
            return np.concatenate([self._run_features(batch[i : i + 1]) for i in range(len(images))])
        return self._run_features(batch)

    def differences(self, features: np.ndarray) -> np.ndarray:
        """Pairwise differences of a stack of embeddings, [N, N] (see `CcipMetric.differences`)."""
        return self.metric.differences(features)

    def difference(self, first: np.ndarray, second: np.ndarray) -> float:
        """The difference between two embeddings (see `CcipMetric.difference`)."""
        return self.metric.difference(first, second)

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from one embedding to many (see `CcipMetric.differences_to`)."""
        return self.metric.differences_to(query, references)

    def differences_many(self, queries: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from several embeddings to many (see `CcipMetric.differences_many`)."""
        return self.metric.differences_many(queries, references)

    def is_same_character(self, difference: float) -> bool:
        """The model's own calibrated decision for one difference value."""
        return self.metric.is_same_character(difference)

    def _run_features(self, batch: np.ndarray) -> np.ndarray:
        (output,) = self._feature_session.run([self._feature_output], {self._feature_input: batch})
        return np.asarray(output, dtype=np.float32).reshape(len(batch), -1)


def read_threshold(metrics_path: Path) -> float:
    """The calibrated same-character threshold shipped beside the model in metrics.json."""
    metrics_path = Path(metrics_path)
    try:
        threshold = float(json.loads(metrics_path.read_text(encoding="utf-8"))["threshold"])
    except FileNotFoundError as error:
        raise ModelUnavailable(
            f"The CCIP thresholds file {metrics_path.name} is missing; fetch the model again.", detail=str(error)
        ) from error
    except (ValueError, KeyError, TypeError) as error:
        raise ModelUnavailable(
            f"The CCIP thresholds file {metrics_path.name} is damaged; fetch the model again.",
            detail=f"{metrics_path}: {error!r}",
        ) from error
    if not np.isfinite(threshold):
        raise ModelUnavailable(
            f"The CCIP thresholds file {metrics_path.name} is damaged; fetch the model again.",
            detail=f"{metrics_path}: threshold {threshold}",
        )
    return threshold


def load_ccip_metric(model_dir: Path, *, name: str, version: str, session_config: SessionConfig) -> CcipMetric:
    """Load only the metrics model and the threshold of one CCIP folder (the one loader of the metric)."""
    model_dir = Path(model_dir)
    threshold = read_threshold(model_dir / METRICS_FILE)
    metrics_session = create_session(model_dir / METRICS_MODEL_FILE, session_config)
    return CcipMetric(metrics_session, threshold, name=name, version=version)


def load_ccip_embedder(model_dir: Path, *, name: str, version: str, session_config: SessionConfig) -> CcipEmbedder:
    """Load the feature model and, through `load_ccip_metric`, the metrics model and threshold of one CCIP folder."""
    model_dir = Path(model_dir)
    metric = load_ccip_metric(model_dir, name=name, version=version, session_config=session_config)
    feature_session = create_session(model_dir / FEATURE_FILE, session_config)
    embedder = CcipEmbedder(feature_session, metric)
    log.info(
        "loaded embedder %s from %s: input %d px, threshold %.4f",
        embedder.identity,
        model_dir,
        embedder.input_size,
        metric.threshold,
    )
    return embedder


def _square_nchw_size(shape: Sequence[object], name: str) -> int:
    """The side of a [batch, 3, side, side] input; a dynamic side means the documented 384."""
    if len(shape) != 4 or shape[1] != 3:
        raise ModelUnavailable(
            f"The embedder {name} does not have a CCIP input; fetch it again or choose another model.",
            detail=f"feature input shape {list(shape)}, expected [batch, 3, size, size]",
        )
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        if height != width:
            raise ModelUnavailable(
                f"The embedder {name} does not have a square CCIP input; fetch it again.",
                detail=f"feature input shape {list(shape)}",
            )
        return height
    return DEFAULT_INPUT_SIZE
