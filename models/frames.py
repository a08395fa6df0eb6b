"""Counting an upload's frames from its own frame headers, without decoding or seeking a frame.

Pillow's `n_frames` seeks through every TIFF directory and GIF frame: a 22 MB TIFF of 200,000 directories never
finishes. These walkers read only the offsets and block lengths, and stop at a cap.
"""

from __future__ import annotations

import struct

MAX_FRAMES_COUNTED = 1000
"""Frames counted for the note about animations; counting stops here."""


def count_tiff_directories(data: bytes, cap: int = MAX_FRAMES_COUNTED) -> int:
    """Image directories in a TIFF or BigTIFF, following next-IFD offsets until 0, a loop, the end or the cap."""
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    offset = struct.unpack_from(order + "Q", data, 8)[0] if big else struct.unpack_from(order + "I", data, 4)[0]
    count_format, entry_size, next_format = ("Q", 20, "Q") if big else ("H", 12, "I")
    count_size = struct.calcsize(count_format)
    seen: set[int] = set()
    while offset and offset not in seen and len(seen) < cap:
        seen.add(offset)
        entries = struct.unpack_from(order + count_format, data, offset)[0]
        offset = struct.unpack_from(order + next_format, data, offset + count_size + entries * entry_size)[0]
    return max(1, len(seen))


def count_gif_frames(data: bytes, cap: int = MAX_FRAMES_COUNTED) -> int:
    """Image descriptors in a GIF, skipping colour tables and data sub-blocks, up to the cap."""
    frames = 0
    position = 13 + _colour_table_size(data[10])
    while position < len(data) and frames < cap:
        block = data[position]
        if block == 0x2C:  # image descriptor, optional local colour table, LZW code size, data sub-blocks
            frames += 1
            position += 10 + _colour_table_size(data[position + 9]) + 1
        elif block == 0x21:  # extension: introducer, label, data sub-blocks
            position += 2
        else:  # the trailer, or garbage after the last frame
            break
        while position < len(data):
            length = data[position]
            position += 1 + length
            if length == 0:
                break
    return max(1, frames)


def _colour_table_size(packed: int) -> int:
    """Bytes of the colour table a GIF descriptor's packed field announces."""
    return 3 * (2 ** ((packed & 7) + 1)) if packed & 0x80 else 0
