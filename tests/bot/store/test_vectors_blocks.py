"""Named feature blocks survive the store's blob format bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from bot.store.vectors import decode_blocks, encode_blocks


def test_blocks_round_trip_and_refuse_a_truncated_blob() -> None:
    blocks = {"cnn_whole": np.arange(1024, dtype=np.float32), "palette_face": np.linspace(0, 1, 145, dtype=np.float32)}
    decoded = decode_blocks(encode_blocks(blocks))
    assert list(decoded) == list(blocks)
    for name, vector in blocks.items():
        np.testing.assert_array_equal(decoded[name], vector)
    with pytest.raises(ValueError):
        decode_blocks(encode_blocks(blocks)[:-4])
