"""One place that creates ONNX Runtime sessions, so providers and thread counts always come from config."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import ModelUnavailable

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionConfig:
    """How a session runs; one intra-op thread by default because pool workers already run in parallel."""

    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    intra_op_threads: int = 1
    inter_op_threads: int = 1


def create_session(
    model_path: Path, config: SessionConfig, *, model_bytes: bytes | None = None
) -> ort.InferenceSession:
    """Open an ONNX model with the configured providers and threads, so no caller oversubscribes cores.

    `model_bytes` is a graph edited in memory (an extra output exposed); `model_path` then names it in errors.
    """
    import onnxruntime as ort  # here, not at import: choosing or listing models must not load the runtime

    model_path = Path(model_path)
    if model_bytes is None and not model_path.is_file():
        raise ModelUnavailable(
            f"The model file {model_path.name} is missing; fetch or rebuild the model and try again.",
            detail=f"no ONNX file at {model_path}",
        )
    available = set(ort.get_available_providers())
    providers = [name for name in config.providers if name in available]
    if not providers:
        providers = ["CPUExecutionProvider"]
        log.warning("none of the providers %s is available; using CPUExecutionProvider", list(config.providers))
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, config.intra_op_threads)
    options.inter_op_num_threads = max(1, config.inter_op_threads)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(model_bytes or str(model_path), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime raises its own untyped errors for corrupt graphs
        raise ModelUnavailable(
            f"The model file {model_path.name} could not be loaded; it may be corrupt, so fetch it again.",
            detail=f"onnxruntime failed to load {model_path}: {error}",
        ) from error
    log.info(
        "ONNX session %s: providers=%s intra_op_threads=%d inter_op_threads=%d",
        model_path,
        session.get_providers(),
        options.intra_op_num_threads,
        options.inter_op_num_threads,
    )
    return session
