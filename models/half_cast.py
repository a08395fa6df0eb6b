"""A one-node ONNX graph that casts float16 rows to float32, and the process's one session of it.

Why a graph: ONNX Runtime's Cast converts half floats with the processor's conversion instructions (F16C), where
numpy converts them one value at a time (bot/recognition/half_widening.py has the figures). Both imports wait
for the first cast, so commands that never widen a row do not load the runtime.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from models.sessions import SessionConfig, create_session

if TYPE_CHECKING:
    import onnxruntime as ort

HALF_INPUT, SINGLE_OUTPUT = "half", "single"
_session = None
_session_lock = threading.Lock()


def cast_graph() -> bytes:
    """float16 [rows, dims] in, the same as float32 out."""
    from onnx import TensorProto, helper

    node = helper.make_node("Cast", [HALF_INPUT], [SINGLE_OUTPUT], to=TensorProto.FLOAT)
    graph = helper.make_graph(
        [node],
        "half_cast",
        [helper.make_tensor_value_info(HALF_INPUT, TensorProto.FLOAT16, [None, None])],
        [helper.make_tensor_value_info(SINGLE_OUTPUT, TensorProto.FLOAT, [None, None])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def half_cast_session() -> ort.InferenceSession:
    """The process's one Cast session (one thread), made at first use; sessions run from several threads safely."""
    global _session
    with _session_lock:
        if _session is None:
            _session = create_session(Path("half_cast.onnx"), SessionConfig(), model_bytes=cast_graph())
        return _session
