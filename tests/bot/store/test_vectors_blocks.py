"""Stored vectors: float16 where a vector survives the cast, float32 otherwise, and old float32 blobs still read."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.store.vectors import decode_blocks, decode_vector, encode_blocks, encode_vector

HALF_STEP = 2.0**-11
"""float16's relative rounding error bound (half a unit in the last of its 10 fraction bits)."""


def old_float32_blocks(blocks: dict[str, np.ndarray]) -> bytes:
    """A blob as stores before float16 wrote it: a header of plain lengths, then float32 bytes."""
    header = json.dumps({name: int(vector.size) for name, vector in blocks.items()}, separators=(",", ":")).encode()
    payload = b"".join(vector.astype("<f4").tobytes() for vector in blocks.values())
    return len(header).to_bytes(4, "little") + header + payload


def test_blocks_round_trip_within_float16_rounding_and_refuse_a_truncated_blob() -> None:
    blocks = {"cnn_whole": np.arange(1024, dtype=np.float32), "palette_face": np.linspace(0, 1, 145, dtype=np.float32)}
    blob = encode_blocks(blocks)
    decoded = decode_blocks(blob)
    assert list(decoded) == list(blocks)
    for name, vector in blocks.items():
        assert decoded[name].dtype == np.float32
        np.testing.assert_allclose(decoded[name], vector, rtol=HALF_STEP, atol=0)
    assert len(blob) < len(old_float32_blocks(blocks)) * 0.55
    with pytest.raises(ValueError):
        decode_blocks(blob[:-4])
    with pytest.raises(ValueError):
        decode_blocks(blob + b"\0\0")


def test_old_float32_blocks_decode_bit_for_bit_and_full_width_encoding_writes_them() -> None:
    blocks = {"cnn_head": np.random.default_rng(0).normal(size=64).astype(np.float32), "mirror:cnn_head": np.ones(3)}
    old = old_float32_blocks(blocks)
    for name, vector in decode_blocks(old).items():
        np.testing.assert_array_equal(vector, blocks[name])
    assert encode_blocks(blocks, half=False) == old


def test_a_vector_is_half_the_bytes_and_its_width_follows_from_its_length() -> None:
    vector = np.random.default_rng(1).normal(size=768).astype(np.float32)
    blob, dims = encode_vector(vector)
    assert (len(blob), dims) == (768 * 2, 768)
    decoded = decode_vector(blob, dims)
    assert decoded.dtype == np.float32 and decoded.flags.writeable
    np.testing.assert_allclose(decoded, vector, rtol=HALF_STEP, atol=2.0**-24)
    np.testing.assert_array_equal(decode_vector(vector.astype("<f4").tobytes(), 768), vector)
    for wrong in (blob[:-2], blob + b"\0", b""):
        with pytest.raises(ValueError, match="expected 768 values"):
            decode_vector(wrong, 768)


@pytest.mark.parametrize(
    "vector",
    [
        np.array([1.0, 70000.0, -3.0], dtype=np.float32),  # beyond float16's 65504: would become inf
        np.array([1e-9, -2e-9, 0.0], dtype=np.float32),  # would flush to the zero vector, which has no direction
    ],
)
def test_a_vector_float16_cannot_hold_stays_float32_bit_for_bit(vector: np.ndarray) -> None:
    blob, dims = encode_vector(vector)
    assert len(blob) == 4 * dims
    np.testing.assert_array_equal(decode_vector(blob, dims), vector)
    blocks = decode_blocks(encode_blocks({"wide": vector, "narrow": np.ones(4)}))
    np.testing.assert_array_equal(blocks["wide"], vector)
    np.testing.assert_array_equal(blocks["narrow"], np.ones(4))


@pytest.mark.parametrize("bad", [np.array([1.0, np.nan]), np.array([np.inf]), np.zeros((2, 2)), np.zeros(0)])
def test_nan_inf_and_non_vectors_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode_vector(bad)
