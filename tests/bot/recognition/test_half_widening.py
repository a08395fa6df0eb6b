"""Widening held float16 rows through ONNX Runtime's Cast gives numpy's float32 for every half value."""

from __future__ import annotations

import numpy as np
import pytest

from bot.recognition.half_widening import widen_into


def test_every_float16_value_widens_to_numpys_float32_bit_for_bit() -> None:
    halves = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16).reshape(256, 256)
    out = np.empty(halves.shape, dtype=np.float32)
    widen_into(out, halves)
    expected = halves.astype(np.float32)
    finite = np.isfinite(expected)  # zeros of both signs, subnormals and normals: the same bits
    assert np.array_equal(out.view(np.uint32)[finite], expected.view(np.uint32)[finite])
    assert np.array_equal(out[np.isinf(expected)], expected[np.isinf(expected)])
    assert np.isnan(out[np.isnan(expected)]).all()


def test_a_gathered_or_sliced_chunk_widens_into_a_buffers_front() -> None:
    rows = np.random.default_rng(3).normal(size=(50, 12)).astype(np.float16)
    buffer = np.full((64, 12), -7.0, dtype=np.float32)
    picked = rows[[4, 0, 33, 33, 49]]  # a guild's visible rows, gathered
    widen_into(buffer[: len(picked)], picked)
    assert np.array_equal(buffer[:5], picked.astype(np.float32)) and (buffer[5:] == -7.0).all()
    widen_into(buffer[:0], rows[:0])  # an empty chunk is no call at all


def test_float32_rows_are_copied_and_a_wrong_buffer_is_refused() -> None:
    rows = np.random.default_rng(4).normal(size=(6, 5)).astype(np.float32)
    out = np.empty_like(rows)
    widen_into(out, rows)
    assert np.array_equal(out, rows)
    with pytest.raises(ValueError, match="cannot widen"):
        widen_into(np.empty((6, 4), dtype=np.float32), rows.astype(np.float16))
    with pytest.raises(ValueError, match="cannot widen"):
        widen_into(np.empty((6, 5), dtype=np.float64), rows.astype(np.float16))
    with pytest.raises(ValueError, match="cannot widen"):
        widen_into(np.empty((5, 6), dtype=np.float32).T, rows.astype(np.float16))
