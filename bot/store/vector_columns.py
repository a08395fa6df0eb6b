"""Many stored vectors decoded at once, for the gallery's bulk load (the per-row decoders are bot/store/vectors.py).

Why columnar: decoding 500,000 references one numpy call at a time costs seconds of Python overhead; rows of
one width (or, for blocks, one header) share a layout, so each such group is joined into one buffer and read
with one `np.frombuffer`. The results equal the per-row decoders' exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.store.vectors import blocks_header, blocks_layout, stored_dtype

CHUNK_ROWS = 65_536
"""Rows of one block layout joined into one buffer at a time, so the transient bytes stay bounded."""


def decode_matrix(blobs: Sequence[bytes], dims: int) -> np.ndarray:
    """An (n, dims) float32 matrix of `decode_vector` blobs, float16 and float32 mixed; refuses a wrong length."""
    matrix = np.empty((len(blobs), dims), dtype=np.float32)
    if not len(blobs):
        return matrix
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    lengths = np.unique(sizes).tolist()
    if len(lengths) == 1:  # one width (a load's usual case): one join, one cast, no per-row indexing
        values = np.frombuffer(b"".join(blobs), dtype=stored_dtype(lengths[0], dims))
        return values.reshape(len(blobs), dims).astype(np.float32)
    for size in lengths:
        dtype = stored_dtype(size, dims)
        rows = np.flatnonzero(sizes == size)
        values = np.frombuffer(b"".join([blobs[row] for row in rows.tolist()]), dtype=dtype)
        matrix[rows] = values.reshape(rows.size, dims)
    return matrix


def decode_block_matrices(blobs: Sequence[bytes | None]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per block name: the indices (int64, ascending) of the rows holding it and their (k, d) float32 matrix.

    None rows hold no blocks. Rows with identical header bytes share one layout and are decoded together. A block
    name whose length differs between rows refuses to stack (ValueError): blocks of different recipes belong to
    different `features` identities, which the caller keeps apart.
    """
    groups: dict[tuple[bytes, int], list[int]] = {}
    for row, blob in enumerate(blobs):
        if blob is not None:
            groups.setdefault((_header_key(blob), len(blob)), []).append(row)

    layouts = {key: _checked_layout(*key) for key in groups}
    holders: dict[str, list[np.ndarray]] = {}
    lengths: dict[str, int] = {}
    for key, (_, layout) in layouts.items():
        for name, dims, _dtype, _offset in layout:
            if lengths.setdefault(name, dims) != dims:
                raise ValueError(f"stored block {name!r} has {dims} values in some rows, {lengths[name]} in others")
            holders.setdefault(name, []).append(np.asarray(groups[key], dtype=np.int64))

    indices = {name: np.sort(np.concatenate(parts)) for name, parts in holders.items()}
    matrices = {name: np.empty((rows.size, lengths[name]), dtype=np.float32) for name, rows in indices.items()}
    for key, rows in groups.items():
        start, layout = layouts[key]
        size = key[1]
        for first in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[first : first + CHUNK_ROWS]
            table = np.frombuffer(b"".join([blobs[row] for row in chunk]), dtype=np.uint8).reshape(len(chunk), size)
            for name, dims, dtype, offset in layout:
                # One copy makes the block's bytes contiguous, so they view as `dtype` and cast in one pass.
                columns = np.ascontiguousarray(table[:, start + offset : start + offset + dims * dtype.itemsize])
                matrices[name][np.searchsorted(indices[name], chunk)] = columns.view(dtype)
    return {name: (indices[name], matrices[name]) for name in indices}


def _header_key(blob: bytes) -> bytes:
    """The header bytes of one blocks blob, its 4-byte size included: equal keys (and lengths) mean equal layouts."""
    return blob[: 4 + int.from_bytes(blob[:4], "little")]


def _checked_layout(header: bytes, size: int) -> tuple[int, list[tuple[str, int, np.dtype, int]]]:
    """Where the payload starts and each block's name, length, width and payload offset; checks the blob length."""
    body, start = blocks_header(header)
    layout = []
    offset = 0
    for name, dims, dtype in blocks_layout(body):
        layout.append((name, dims, dtype, offset))
        offset += dims * dtype.itemsize
    if start + offset != size:
        raise ValueError(f"stored blocks hold {size - start - offset} bytes beyond (or short of) their header")
    return start, layout
