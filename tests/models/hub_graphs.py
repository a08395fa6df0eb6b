"""Small ONNX graphs with the real hub models' signatures, built with onnx.helper for the tests.

Tensor names deliberately differ from the real models' names, so the code under test must read
them from the session. Each graph's output is a simple function of its input, so a test can compute
the expected numbers on its own.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
CCIP_DIM = 768
WD_RATINGS = ("general", "sensitive", "questionable", "explicit")


def _save(graph: onnx.GraphProto, path: Path, metadata: dict[str, str] | None = None) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def flatten_graph(path: Path, *, input_name: str, output_name: str, input_shape: list, flat: int) -> Path:
    """output = the input tensor flattened per batch row, so a test sees exactly what the model was fed."""
    shape = numpy_helper.from_array(np.asarray([-1, flat], dtype=np.int64), "flat_shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", [input_name, "flat_shape"], [output_name])],
        "probe",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", flat])],
        initializer=[shape],
    )
    return _save(graph, path)


def channel_mean_graph(
    path: Path, *, input_name: str, output_name: str, input_shape: list, axes: list[int], weights: np.ndarray
) -> Path:
    """output = (per-channel mean of the input over `axes`) @ weights: a tiny model with a real signature."""
    weight = numpy_helper.from_array(weights.astype(np.float32), "channel_weights")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", [input_name], ["channel_means"], axes=axes, keepdims=0),
            helper.make_node("MatMul", ["channel_means", "channel_weights"], [output_name]),
        ],
        "channel_mean",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", weights.shape[1]])],
        initializer=[weight],
    )
    return _save(graph, path)


def write_wd_tags(path: Path, n_tags: int, *, n_characters: int = 0) -> Path:
    """A selected_tags.csv: the 4 rating tags first, then general tags, then character tags (WD order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for index in range(n_tags):
            if index < len(WD_RATINGS):
                name, category = WD_RATINGS[index], 9
            elif index >= n_tags - n_characters:
                name, category = f"character_{index}", 4
            else:
                name, category = f"tag_{index}", 0
            writer.writerow([index, name, category, n_tags - index])
    return path


def cosine_metrics_graph(path: Path, *, input_name: str = "stacked_features", output_name: str = "pair_diff") -> Path:
    """A CCIP-style metrics model: [N, d] -> [N, N] of 1 - cosine similarity."""
    one = numpy_helper.from_array(np.asarray(1.0, dtype=np.float32), "one")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceL2", [input_name], ["norms"], axes=[1], keepdims=1),
            helper.make_node("Div", [input_name, "norms"], ["unit"]),
            helper.make_node("Transpose", ["unit"], ["unit_t"], perm=[1, 0]),
            helper.make_node("MatMul", ["unit", "unit_t"], ["cosine"]),
            helper.make_node("Sub", ["one", "cosine"], [output_name]),
        ],
        "cosine_metrics",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["n", CCIP_DIM])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["n", "n"])],
        initializer=[one],
    )
    return _save(graph, path)


def ccip_feature_graph(path: Path, weights: np.ndarray | None = None, *, size: int = 384) -> Path:
    """A CCIP-signature feature model: [batch, 3, size, size] -> [batch, 768] from channel means."""
    if weights is None:
        weights = np.random.default_rng(7).normal(size=(3, CCIP_DIM)).astype(np.float32)
    return channel_mean_graph(
        path,
        input_name="pixel_batch",
        output_name="character_vector",
        input_shape=["batch", 3, size, size],
        axes=[2, 3],
        weights=weights,
    )


def yolo_graph(
    path: Path,
    boxes_xywh: np.ndarray,
    base_scores: np.ndarray,
    *,
    imgsz: tuple[int, int] = (640, 640),
    names: str | None = "{0: 'face'}",
    write_imgsz: bool = True,
) -> Path:
    """A YOLOv8-signature detector: input [1, 3, h, w] -> [1, 4 + classes, anchors].

    Boxes are constants (centre x, centre y, width, height in input pixels, shape [4, A]); the
    scores are `base_scores` ([classes, A]) times the mean of the input's first (red) channel, so
    the detections depend on what the model was fed.
    """
    height, width = imgsz
    anchors = boxes_xywh.shape[1]
    classes = base_scores.shape[0]
    inits = [
        numpy_helper.from_array(boxes_xywh.astype(np.float32)[None], "const_boxes"),
        numpy_helper.from_array(base_scores.astype(np.float32)[None], "base_scores"),
        numpy_helper.from_array(np.asarray([0], dtype=np.int64), "start"),
        numpy_helper.from_array(np.asarray([1], dtype=np.int64), "end"),
        numpy_helper.from_array(np.asarray([1], dtype=np.int64), "axis"),
    ]
    graph = helper.make_graph(
        [
            helper.make_node("Slice", ["pixels_rgb", "start", "end", "axis"], ["red"]),
            helper.make_node("ReduceMean", ["red"], ["red_mean"], axes=[1, 2, 3], keepdims=0),
            helper.make_node("Mul", ["base_scores", "red_mean"], ["scores"]),
            helper.make_node("Concat", ["const_boxes", "scores"], ["raw_detections"], axis=1),
        ],
        "yolo_probe",
        [helper.make_tensor_value_info("pixels_rgb", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("raw_detections", TensorProto.FLOAT, [1, 4 + classes, anchors])],
        initializer=inits,
    )
    metadata = {}
    if write_imgsz:
        metadata["imgsz"] = f"[{height}, {width}]"
    if names is not None:
        metadata["names"] = names
    return _save(graph, path, metadata)


def slow_cosine_metrics_graph(path: Path, *, work: int = 1024, repeats: int = 16) -> Path:
    """The CCIP metrics signature and answer (1 - cosine), made slow by `repeats` [work, work] MatMuls.

    The MatMuls start from the input's mean, so ONNX Runtime cannot fold them into a constant, and their
    sum is multiplied by zero before it is added: the output is exactly `cosine_metrics_graph`'s.
    """
    rotation = np.eye(work)[np.random.default_rng(5).permutation(work)]  # orthogonal: the values stay bounded
    constants = [
        numpy_helper.from_array(np.asarray(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.asarray(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(rotation.astype(np.float32), "rotation"),
    ]
    nodes = [
        helper.make_node("ReduceL2", ["stacked_features"], ["norms"], axes=[1], keepdims=1),
        helper.make_node("Div", ["stacked_features", "norms"], ["unit"]),
        helper.make_node("Transpose", ["unit"], ["unit_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["unit", "unit_t"], ["cosine"]),
        helper.make_node("Sub", ["one", "cosine"], ["difference"]),
        helper.make_node("ReduceMean", ["stacked_features"], ["level"], keepdims=0),
        helper.make_node("Mul", ["rotation", "level"], ["work_0"]),
    ]
    nodes += [helper.make_node("MatMul", [f"work_{i}", "rotation"], [f"work_{i + 1}"]) for i in range(repeats)]
    nodes += [
        helper.make_node("ReduceSum", [f"work_{repeats}"], ["work_sum"], keepdims=0),
        helper.make_node("Mul", ["work_sum", "zero"], ["nothing"]),
        helper.make_node("Add", ["difference", "nothing"], ["pair_diff"]),
    ]
    graph = helper.make_graph(
        nodes,
        "slow_cosine_metrics",
        [helper.make_tensor_value_info("stacked_features", TensorProto.FLOAT, ["n", CCIP_DIM])],
        [helper.make_tensor_value_info("pair_diff", TensorProto.FLOAT, ["n", "n"])],
        initializer=constants,
    )
    return _save(graph, path)


def pair_mlp_metrics_graph(path: Path, *, projected: int = 64, hidden: int = 32, seed: int = 3) -> Path:
    """A CCIP metrics signature whose cost is per pair, as a learned metric's is: an MLP over every pair.

    Each vector is projected to `projected` dims (u = x @ P); pair (i, j) gets h = relu([|u_i - u_j|, u_i * u_j] @ W
    + b) and difference sigmoid(h @ v + c): symmetric, and every entry depends on its two rows alone, so the
    cost of a run grows with the square of its rows. `pair_mlp_differences` computes the same numbers in numpy.
    """
    weights = pair_mlp_weights(projected=projected, hidden=hidden, seed=seed)
    constants = [numpy_helper.from_array(value, name) for name, value in weights.items()]
    constants += [numpy_helper.from_array(np.asarray([axis], dtype=np.int64), f"axis_{axis}") for axis in (0, 1)]
    nodes = [
        helper.make_node("MatMul", ["stacked_features", "project"], ["u"]),
        helper.make_node("Unsqueeze", ["u", "axis_1"], ["rows"]),  # [N, 1, p]
        helper.make_node("Unsqueeze", ["u", "axis_0"], ["cols"]),  # [1, N, p]
        helper.make_node("Sub", ["rows", "cols"], ["gap"]),
        helper.make_node("Abs", ["gap"], ["spread"]),
        helper.make_node("Mul", ["rows", "cols"], ["agree"]),
        helper.make_node("Concat", ["spread", "agree"], ["pairs"], axis=-1),  # [N, N, 2p]
        helper.make_node("MatMul", ["pairs", "hidden_w"], ["hidden_raw"]),
        helper.make_node("Add", ["hidden_raw", "hidden_b"], ["hidden_in"]),
        helper.make_node("Relu", ["hidden_in"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "out_v"], ["logit_raw"]),  # [N, N]
        helper.make_node("Add", ["logit_raw", "out_c"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["pair_diff"]),
    ]
    graph = helper.make_graph(
        nodes,
        "pair_mlp_metrics",
        [helper.make_tensor_value_info("stacked_features", TensorProto.FLOAT, ["n", CCIP_DIM])],
        [helper.make_tensor_value_info("pair_diff", TensorProto.FLOAT, ["n", "n"])],
        initializer=constants,
    )
    return _save(graph, path)


def pair_mlp_weights(*, projected: int = 64, hidden: int = 32, seed: int = 3) -> dict[str, np.ndarray]:
    """The weights `pair_mlp_metrics_graph` bakes in, so numpy can recompute its output."""
    rng = np.random.default_rng(seed)
    return {
        "project": (rng.normal(size=(CCIP_DIM, projected)) / np.sqrt(CCIP_DIM)).astype(np.float32),
        "hidden_w": (rng.normal(size=(2 * projected, hidden)) / np.sqrt(2 * projected)).astype(np.float32),
        "hidden_b": np.zeros(hidden, dtype=np.float32),
        "out_v": rng.normal(size=hidden).astype(np.float32),
        "out_c": np.asarray(-1.0, dtype=np.float32),
    }


def pair_mlp_differences(features: np.ndarray, **shape: int) -> np.ndarray:
    """`pair_mlp_metrics_graph`'s [N, N] output for `features`, computed in float64 numpy."""
    w = {name: value.astype(np.float64) for name, value in pair_mlp_weights(**shape).items()}
    u = np.asarray(features, dtype=np.float64) @ w["project"]
    pairs = np.concatenate([np.abs(u[:, None] - u[None]), u[:, None] * u[None]], axis=-1)
    hidden = np.maximum(pairs @ w["hidden_w"] + w["hidden_b"], 0.0)
    return 1 / (1 + np.exp(-(hidden @ w["out_v"] + w["out_c"])))
