"""Hostile files built by hand (no image library writes them this way), for the reliability tests and benchmark."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def strip_png(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of width x height (e.g. 1 x 40,000,000), its IDAT compressed row by row in chunks."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width
    rows_per_piece = max(1, (1 << 20) // len(row))
    piece = row * rows_per_piece
    parts: list[bytes] = []
    left = height
    while left > 0:
        count = min(rows_per_piece, left)
        parts.append(compressor.compress(piece if count == rows_per_piece else row * count))
        left -= count
    parts.append(compressor.flush())
    idat = b"".join(parts)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def many_ifd_tiff(directories: int) -> bytes:
    """A little-endian TIFF of `directories` 1x1 grey images, all sharing one pixel, IFDs chained in order."""
    pixel_at = 8
    first_ifd = 10  # header (8) + the shared pixel byte + one pad byte keeps IFDs word-aligned
    entry_count = 8
    ifd_size = 2 + entry_count * 12 + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + b"\x80\x00")
    for index in range(directories):
        next_ifd = first_ifd + (index + 1) * ifd_size if index + 1 < directories else 0
        entries = [
            (256, 3, 1, 1),  # ImageWidth
            (257, 3, 1, 1),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: black is zero
            (273, 4, 1, pixel_at),  # StripOffsets
            (278, 3, 1, 1),  # RowsPerStrip
            (279, 4, 1, 1),  # StripByteCounts
        ]
        out += struct.pack("<H", entry_count)
        for tag, kind, count, value in entries:
            out += struct.pack("<HHI", tag, kind, count) + (
                struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            )
        out += struct.pack("<I", next_ifd)
    return bytes(out)


def sparse_file(path: Path, size: int, head: bytes = b"\x89PNG\r\n\x1a\n") -> Path:
    """A file of `size` bytes that costs no disk: `head`, then a hole."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path
