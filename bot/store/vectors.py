"""Vectors as bytes: little-endian float32, so a stored vector reads back bit for bit on any machine."""

from __future__ import annotations

import json

import numpy as np

STORED_DTYPE = np.dtype("<f4")


def encode_vector(vector: np.ndarray) -> tuple[bytes, int]:
    """Bytes and length of a 1-D finite vector; NaN or inf would silently poison every distance."""
    array = np.asarray(vector)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"expected a non-empty 1-D vector, got shape {array.shape}")
    stored = array.astype(STORED_DTYPE)
    if not np.isfinite(stored).all():
        raise ValueError("vector holds NaN or infinite values")
    return stored.tobytes(), int(stored.size)


def decode_vector(blob: bytes, dims: int) -> np.ndarray:
    """A writable native float32 array from stored bytes; refuses bytes that do not match `dims`."""
    array = np.frombuffer(blob, dtype=STORED_DTYPE)
    if array.size != dims:
        raise ValueError(f"stored vector has {array.size} values, expected {dims}")
    return array.astype(np.float32)


def encode_blocks(blocks: dict[str, np.ndarray]) -> bytes:
    """Named vectors as one blob: a JSON header of names and lengths, then each vector's float32 bytes in order."""
    header = {}
    payload = []
    for name, vector in blocks.items():
        data, dims = encode_vector(vector)
        header[name] = dims
        payload.append(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return len(encoded).to_bytes(4, "little") + encoded + b"".join(payload)


def decode_blocks(blob: bytes) -> dict[str, np.ndarray]:
    """The named vectors of `encode_blocks`; refuses a blob whose length does not match its header."""
    size = int.from_bytes(blob[:4], "little")
    header = json.loads(blob[4 : 4 + size].decode())
    offset = 4 + size
    blocks: dict[str, np.ndarray] = {}
    for name, dims in header.items():
        end = offset + dims * STORED_DTYPE.itemsize
        blocks[name] = decode_vector(blob[offset:end], dims)
        offset = end
    if offset != len(blob):
        raise ValueError(f"stored blocks hold {len(blob) - offset} bytes beyond their header")
    return blocks
