"""Vectors as bytes: little-endian float16 where a vector survives it, else float32; bit-exact on any machine.

Why float16: a reference's vectors are most of a store's bytes and of the gallery's load time, and rounding to
float16 (a relative error of 2**-11) changed no answer on the eval sets (README, "Stored vectors"). Why not always: a
value beyond float16's range would become inf and poison every distance, so such a vector stays float32. The
width needs no column of its own: a blob holds `dims` values of 2 or 4 bytes, so its length says which. Decoded
arrays are always native float32, whatever the stored width.
"""

from __future__ import annotations

import json

import numpy as np

HALF_DTYPE = np.dtype("<f2")
FULL_DTYPE = np.dtype("<f4")
"""The width of stores written before migration 0006 and of vectors float16 cannot hold."""
HALF_LIMIT = float(np.finfo(np.float16).max)


def stored_array(vector: np.ndarray, *, half: bool = True) -> np.ndarray:
    """The little-endian array a 1-D finite vector is stored as: float16 when it survives the cast, else float32.

    Survives: every value within float16's range, and not every non-zero value flushed to zero (a vector of only
    tiny values would turn into the zero vector, which has no direction). `half=False` keeps float32 (downgrade).
    """
    array = np.asarray(vector)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"expected a non-empty 1-D vector, got shape {array.shape}")
    full = array.astype(FULL_DTYPE)
    if not np.isfinite(full).all():
        raise ValueError("vector holds NaN or infinite values")
    if not half or float(np.abs(full).max()) > HALF_LIMIT:
        return full
    rounded = full.astype(HALF_DTYPE)
    if full.any() and not rounded.any():
        return full
    return rounded


def encode_vector(vector: np.ndarray, *, half: bool = True) -> tuple[bytes, int]:
    """Bytes and length of a 1-D finite vector; NaN or inf would silently poison every distance."""
    stored = stored_array(vector, half=half)
    return stored.tobytes(), int(stored.size)


def stored_dtype(size: int, dims: int) -> np.dtype:
    """The width a blob of `size` bytes holding `dims` values was written in; refuses any other length."""
    if dims > 0 and size == dims * HALF_DTYPE.itemsize:
        return HALF_DTYPE
    if dims > 0 and size == dims * FULL_DTYPE.itemsize:
        return FULL_DTYPE
    raise ValueError(f"stored vector has {size} bytes, expected {dims} values of 2 or 4 bytes")


def decode_vector(blob: bytes, dims: int) -> np.ndarray:
    """A writable native float32 array from stored bytes; refuses bytes that do not match `dims`."""
    return np.frombuffer(blob, dtype=stored_dtype(len(blob), dims)).astype(np.float32)


def encode_blocks(blocks: dict[str, np.ndarray], *, half: bool = True) -> bytes:
    """Named vectors as one blob: a JSON header of names and lengths, then each vector's bytes in order.

    The header maps a float32 block to its length (the format before float16, still read and written) and a
    float16 block to `[length, 2]`, so each block's width is in the header and old blobs decode unchanged.
    """
    header: dict[str, int | list[int]] = {}
    payload = []
    for name, vector in blocks.items():
        stored = stored_array(vector, half=half)
        header[name] = [stored.size, HALF_DTYPE.itemsize] if stored.dtype == HALF_DTYPE else stored.size
        payload.append(stored.tobytes())
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return len(encoded).to_bytes(4, "little") + encoded + b"".join(payload)


def blocks_header(blob: bytes) -> tuple[bytes, int]:
    """The header bytes of an `encode_blocks` blob and where its payload starts."""
    size = int.from_bytes(blob[:4], "little")
    if len(blob) < 4 + size:
        raise ValueError(f"stored blocks hold {len(blob)} bytes, shorter than their header")
    return blob[4 : 4 + size], 4 + size


def blocks_layout(header: bytes) -> list[tuple[str, int, np.dtype]]:
    """Each block's name, length and stored width from a header's bytes, in payload order."""
    layout = []
    for name, entry in json.loads(header.decode()).items():
        dims, width = (entry, FULL_DTYPE.itemsize) if isinstance(entry, int) else entry
        if not isinstance(dims, int) or dims <= 0 or width not in (HALF_DTYPE.itemsize, FULL_DTYPE.itemsize):
            raise ValueError(f"stored block {name!r} has a malformed header entry {entry!r}")
        layout.append((name, dims, HALF_DTYPE if width == HALF_DTYPE.itemsize else FULL_DTYPE))
    return layout


def decode_blocks(blob: bytes) -> dict[str, np.ndarray]:
    """The named vectors of `encode_blocks`; refuses a blob whose length does not match its header."""
    header, offset = blocks_header(blob)
    blocks: dict[str, np.ndarray] = {}
    for name, dims, dtype in blocks_layout(header):
        end = offset + dims * dtype.itemsize
        if end > len(blob):
            raise ValueError(f"stored block {name!r} is cut short")
        blocks[name] = np.frombuffer(blob[offset:end], dtype=dtype).astype(np.float32)
        offset = end
    if offset != len(blob):
        raise ValueError(f"stored blocks hold {len(blob) - offset} bytes beyond their header")
    return blocks
