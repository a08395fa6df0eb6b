"""Hub-shaped models for the recognition tests: small graphs placed in a fake Hugging Face cache.

The files sit exactly where `huggingface_hub.try_to_load_from_cache` looks (refs/main -> snapshots/<commit>),
so the engine and the app find them through the real model cards, with no network.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.registry import CCIP_MODEL, FACE_MODEL, get_card
from tests.models.hub_graphs import WD_RATINGS, ccip_feature_graph, channel_mean_graph, cosine_metrics_graph, yolo_graph

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
THRESHOLD = 0.178


def snapshot_file(cache: Path, model: str, filename: str) -> Path:
    """Where one file of a model card lives in a Hugging Face cache (parents created, ref written)."""
    card = get_card(model)
    repo = cache / f"models--{card.repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / card.revision).write_text(COMMIT)
    folder = repo / "snapshots" / COMMIT / card.subfolder
    folder.mkdir(parents=True, exist_ok=True)
    return folder / filename


def publish_ccip(cache: Path, *, weights: np.ndarray | None = None, threshold: float = THRESHOLD) -> str:
    """A CCIP-signature embedder (channel means @ weights) with a 1 - cosine metrics model; returns its identity."""
    ccip_feature_graph(snapshot_file(cache, CCIP_MODEL, "model_feat.onnx"), weights)
    write_metrics(snapshot_file(cache, CCIP_MODEL, "model_metrics.onnx").parent, threshold)
    return f"{CCIP_MODEL}@{COMMIT[:12]}"


def write_metrics(folder: Path, threshold: float = THRESHOLD) -> Path:
    """A CCIP metrics model (1 - cosine) and its metrics.json in one folder."""
    cosine_metrics_graph(folder / "model_metrics.onnx")
    (folder / "metrics.json").write_text(json.dumps({"threshold": threshold}))
    return folder


def publish_detector(cache: Path, boxes_xyxy: Sequence[tuple[int, int, int, int]], imgsz: tuple[int, int]) -> None:
    """A YOLO-signature face detector that always proposes these boxes (in input pixels), scored by redness."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float32)
    xywh = np.stack(
        [
            (boxes[:, 0] + boxes[:, 2]) / 2,
            (boxes[:, 1] + boxes[:, 3]) / 2,
            boxes[:, 2] - boxes[:, 0],
            boxes[:, 3] - boxes[:, 1],
        ]
    )
    yolo_graph(snapshot_file(cache, FACE_MODEL, "model.onnx"), xywh, np.ones((1, len(boxes))), imgsz=imgsz)


def write_wd_tagger(folder: Path, tags: Sequence[tuple[str, int]], weights: np.ndarray, *, size: int = 32) -> Path:
    """A WD-format tagger folder: probabilities = mean (B, G, R) of the 0..255 input @ weights [3, n_tags]."""
    channel_mean_graph(
        folder / "model.onnx",
        input_name="wd_pixels",
        output_name="wd_probs",
        input_shape=["batch", size, size, 3],
        axes=[1, 2],
        weights=weights,
    )
    with (folder / "selected_tags.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        writer.writerows([index, name, category, 1] for index, (name, category) in enumerate(tags))
    return folder


def rating_tags() -> list[tuple[str, int]]:
    """The four WD rating tags (category 9), first as in the real tag lists."""
    return [(name, 9) for name in WD_RATINGS]
