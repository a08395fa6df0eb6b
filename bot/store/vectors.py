"""Vectors as bytes: little-endian float32, so a stored vector reads back bit for bit on any machine."""

from __future__ import annotations

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
