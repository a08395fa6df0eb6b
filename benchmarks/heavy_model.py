"""A WD-format tagger with a convolution stack sized to cost about as much as a real one (~200 ms/image).

Why: the pool's overhead only matters relative to real model time, and the palette tagger is too cheap
to show it. This builds `model.onnx` + `selected_tags.csv` with onnx.helper (random weights, nothing
downloaded), loaded through the same `models.tagger` code as any hub tagger (`settings.tagger` = the
folder). Its input batch dimension is dynamic, so it also measures micro-batching.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.sessions import SessionConfig, create_session
from models.tagger import MODEL_FILE, TAGS_FILE, TagCategory

INPUT_SIZE = 448
WIDTH = 48
"""Channels of the repeated blocks; with 112x112 feature maps one block is ~0.5 GFLOP."""
RATINGS = ("general", "sensitive", "questionable", "explicit")
GENERAL_TAGS = 96


def build_heavy_tagger(out_dir: Path, *, blocks: int, seed: int = 0) -> Path:
    """Write a WD-format tagger with `blocks` 3x3 conv blocks at 112x112; returns the folder."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [*RATINGS, *(f"heavy_tag_{index:03d}" for index in range(GENERAL_TAGS))]
    weights: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def conv(source: str, target: str, in_ch: int, out_ch: int, stride: int) -> None:
        scale = np.sqrt(2.0 / (in_ch * 9))
        kernel = (rng.standard_normal((out_ch, in_ch, 3, 3)) * scale).astype(np.float32)
        weights.append(numpy_helper.from_array(kernel, f"{target}_w"))
        weights.append(numpy_helper.from_array(np.zeros(out_ch, np.float32), f"{target}_b"))
        nodes.append(
            helper.make_node(
                "Conv", [source, f"{target}_w", f"{target}_b"], [f"{target}_c"], pads=[1, 1, 1, 1], strides=[stride] * 2
            )
        )
        nodes.append(helper.make_node("Relu", [f"{target}_c"], [target]))

    nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]))
    weights.append(numpy_helper.from_array(np.array([1 / 255.0], np.float32), "unit"))
    nodes.append(helper.make_node("Mul", ["nchw", "unit"], ["scaled"]))
    conv("scaled", "stem1", 3, WIDTH // 2, 2)
    conv("stem1", "stem2", WIDTH // 2, WIDTH, 2)
    previous = "stem2"
    for index in range(blocks):
        conv(previous, f"block{index}", WIDTH, WIDTH, 1)
        previous = f"block{index}"
    nodes.append(helper.make_node("GlobalAveragePool", [previous], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1))
    head = (rng.standard_normal((WIDTH, len(names))) * 0.5).astype(np.float32)
    weights.append(numpy_helper.from_array(head, "head"))
    nodes.append(helper.make_node("MatMul", ["features", "head"], ["logits"]))
    nodes.append(helper.make_node("Sigmoid", ["logits"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "heavy_tagger",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", INPUT_SIZE, INPUT_SIZE, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", len(names)])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, out_dir / MODEL_FILE)
    with (out_dir / TAGS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for index, name in enumerate(names):
            category = TagCategory.RATING if name in RATINGS else TagCategory.GENERAL
            writer.writerow([index, name, int(category), 1000 - index])
    return out_dir


def time_model(model_dir: Path, *, threads: int, batch: int = 1, runs: int = 5) -> float:
    """Median CPU seconds per `session.run` on a batch, after a warm-up run (CPU time: immune to neighbours)."""
    session = create_session(model_dir / MODEL_FILE, SessionConfig(intra_op_threads=threads))
    feed = {"input": np.full((batch, INPUT_SIZE, INPUT_SIZE, 3), 128.0, np.float32)}
    session.run(None, feed)
    timings = []
    for _ in range(runs):
        started = time.process_time()
        session.run(None, feed)
        timings.append(time.process_time() - started)
    return float(np.median(timings))


def build_calibrated(out_dir: Path, *, target_ms: float = 200.0) -> tuple[Path, int, float]:
    """Build the heavy tagger with as many blocks as make one image cost about `target_ms` of one core."""
    per_four = time_model(build_heavy_tagger(out_dir / "probe", blocks=4), threads=1)
    stem = time_model(build_heavy_tagger(out_dir / "stem", blocks=0), threads=1)
    per_block = max(1e-4, (per_four - stem) / 4)
    blocks = max(1, round((target_ms / 1000 - stem) / per_block))
    model_dir = build_heavy_tagger(out_dir / "heavy", blocks=blocks)
    return model_dir, blocks, time_model(model_dir, threads=1) * 1000
