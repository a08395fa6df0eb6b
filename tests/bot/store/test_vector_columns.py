"""The columnar decoders equal the per-row ones exactly, on mixed widths, mirrored blocks and missing rows."""

from __future__ import annotations

import numpy as np
import pytest

from bot.store.vector_columns import decode_block_matrices, decode_matrix
from bot.store.vectors import decode_blocks, decode_vector, encode_blocks, encode_vector


def mixed_rows(count: int) -> list[dict[str, np.ndarray] | None]:
    """Blocks as a real gallery holds them: faces in some rows, mirrors, a float32-only block, rows without any."""
    rng = np.random.default_rng(7)
    rows: list[dict[str, np.ndarray] | None] = []
    for row in range(count):
        if row % 5 == 4:
            rows.append(None)
            continue
        blocks = {"tags": rng.random(12).astype(np.float32), "cnn_whole": rng.normal(size=16).astype(np.float32)}
        blocks["mirror:cnn_whole"] = rng.normal(size=16).astype(np.float32)
        if row % 2:
            blocks["palette_face"] = rng.random(6).astype(np.float32)
            blocks["cnn_head"] = rng.normal(size=16).astype(np.float32)
        if row % 3 == 0:
            blocks["cnn_whole"][0] = 1e5  # beyond float16: this row stores this block float32
        rows.append(blocks)
    return rows


def test_decode_matrix_equals_the_per_row_decoder_on_mixed_widths() -> None:
    rng = np.random.default_rng(3)
    vectors = [rng.normal(size=8).astype(np.float32) * (1e5 if row % 4 == 0 else 1) for row in range(21)]
    blobs = [encode_vector(vector)[0] for vector in vectors]
    blobs[1] = vectors[1].astype("<f4").tobytes()  # an old float32 row
    assert {len(blob) for blob in blobs} == {16, 32}
    matrix = decode_matrix(blobs, 8)
    assert matrix.dtype == np.float32 and matrix.shape == (21, 8)
    np.testing.assert_array_equal(matrix, np.stack([decode_vector(blob, 8) for blob in blobs]))
    assert decode_matrix([], 8).shape == (0, 8)


def test_decode_matrix_refuses_a_blob_of_the_wrong_length() -> None:
    blobs = [encode_vector(np.ones(8))[0], b"\0" * 12]
    with pytest.raises(ValueError, match="12 bytes"):
        decode_matrix(blobs, 8)


def test_block_matrices_equal_the_per_row_decoder() -> None:
    rows = mixed_rows(40)
    blobs = [encode_blocks(blocks) if blocks is not None else None for blocks in rows]
    blobs[2] = encode_blocks(rows[2], half=False)  # rows written before float16 join the same columns
    assert len({blob[:40] for blob in blobs if blob is not None}) > 2  # several layouts really are in play

    columns = decode_block_matrices(blobs)
    per_row = [decode_blocks(blob) if blob is not None else {} for blob in blobs]
    assert set(columns) == {"tags", "cnn_whole", "mirror:cnn_whole", "palette_face", "cnn_head"}
    for name, (indices, matrix) in columns.items():
        expected = [row for row, blocks in enumerate(per_row) if name in blocks]
        assert indices.dtype == np.int64 and indices.tolist() == expected
        assert matrix.dtype == np.float32
        np.testing.assert_array_equal(matrix, np.stack([per_row[row][name] for row in expected]))
    assert decode_block_matrices([None, None]) == {}


def test_block_matrices_refuse_bad_lengths() -> None:
    good = encode_blocks({"cnn_whole": np.ones(4)})
    with pytest.raises(ValueError):
        decode_block_matrices([good, good[:-2]])
    with pytest.raises(ValueError, match="cnn_whole"):
        decode_block_matrices([good, encode_blocks({"cnn_whole": np.ones(5)})])
    with pytest.raises(ValueError):
        decode_block_matrices([good[:6]])
