"""The session factory: threads and providers come from config, failures are clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from models.errors import ModelUnavailable
from models.sessions import SessionConfig, create_session


def identity_model(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["in"], ["out"])],
        "identity",
        [helper.make_tensor_value_info("in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_threads_and_providers_come_from_config(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = SessionConfig(providers=("CPUExecutionProvider",), intra_op_threads=2, inter_op_threads=1)
    with caplog.at_level(logging.INFO, logger="models.sessions"):
        session = create_session(identity_model(tmp_path / "m.onnx"), config)
    options = session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.inter_op_num_threads == 1
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert "intra_op_threads=2" in caplog.text
    (out,) = session.run(None, {"in": np.array([1.0, 2.0], dtype=np.float32)})
    assert out.tolist() == [1.0, 2.0]


def test_unavailable_provider_falls_back_to_cpu(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = SessionConfig(providers=("NoSuchExecutionProvider",))
    with caplog.at_level(logging.WARNING, logger="models.sessions"):
        session = create_session(identity_model(tmp_path / "m.onnx"), config)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert "NoSuchExecutionProvider" in caplog.text


def test_missing_file_is_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as caught:
        create_session(tmp_path / "absent.onnx", SessionConfig())
    assert "missing" in caught.value.user_message


def test_corrupt_file_is_model_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelUnavailable) as caught:
        create_session(path, SessionConfig())
    assert "could not be loaded" in caught.value.user_message
