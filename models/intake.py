"""Image intake: turn untrusted bytes, a path or a PIL image into one safe RGB picture, or a clear refusal.

Everything a user uploads passes through `load_image`, so it is the one place that knows about EXIF
rotation, transparency, odd colour modes, animations, truncated files and decompression bombs.
Pillow's process-wide settings (`Image.MAX_IMAGE_PIXELS`, `ImageFile.LOAD_TRUNCATED_IMAGES`, warning
filters) are never changed here: the limits are per call, so threads and pool workers cannot disturb
each other.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from models.errors import ImageRejected
from models.frames import MAX_FRAMES_COUNTED, count_gif_frames, count_tiff_directories
from models.rgb import imgutils_view, to_rgb

logger = logging.getLogger(__name__)

# Pillow format ids `load_image` will open; a camera's multi-picture JPEG (MPO) comes through "JPEG".
SUPPORTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")

_FORMAT_NAMES = "PNG, JPEG, GIF, WebP, BMP, TIFF"

MAX_ASPECT = 100.0
"""Longest side over shortest side accepted: beyond it a file is a strip (1 x 40,000,000 passes a pixel cap), and
every model pads it to a square the character would be a few pixels of, so it is refused from the header."""

_DIB_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


@dataclass(frozen=True)
class LoadedImage:
    """A decoded picture ready for models, with what the file said about itself for logs and replies.

    `original_size` is the full-resolution size as a viewer sees it (after EXIF rotation, before any
    JPEG draft reduction), so `original_size / image.size` maps boxes back onto the upload.
    """

    image: Image.Image
    source_format: str | None
    frame_count: int
    original_mode: str
    original_size: tuple[int, int]
    imgutils_image: Image.Image | None = None
    """The same pixels as imgutils would hand CCIP and YOLO, when they differ from `image` (a palette picture's
    transparent colour kept instead of white: models.rgb.imgutils_view); None: feed every model `image`."""

    @property
    def hub_image(self) -> Image.Image:
        """The picture for the imgutils families (CCIP, the YOLO face detector)."""
        return self.image if self.imgutils_image is None else self.imgutils_image


def sniff_image_type(data: bytes) -> str | None:
    """Name the image container from its magic bytes, so callers can route or refuse without decoding."""
    head = bytes(data[:32])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _DIB_HEADER_SIZES:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    return None


def load_image(
    source: bytes | str | os.PathLike[str] | Image.Image,
    *,
    max_pixels: int = 40_000_000,
    max_bytes: int | None = None,
    draft_size: tuple[int, int] | None = (1536, 1536),
    max_aspect: float | None = MAX_ASPECT,
    max_side: int | None = None,
) -> LoadedImage:
    """Decode one upload into an RGB image with the limits checked before any pixel is decoded.

    `max_bytes` is checked on the raw size, `max_pixels` on the header's width x height before decoding
    (Pillow's own bomb guard, twice `Image.MAX_IMAGE_PIXELS`, still applies above that and is reported the
    same way). With `draft_size`, a JPEG is decoded at the largest DCT scale (1/2, 1/4, 1/8) that keeps
    both sides >= `draft_size`; a JPEG smaller than `draft_size` on either side is decoded in full.
    `max_aspect` refuses strips from the header; with `max_side` the decoded picture is reduced (aspect kept) so its
    longer side is at most that, so hashing and every model's resize work on a small picture.
    Animated files give their first frame (a PIL image input gives its current frame). A path that cannot
    be read raises the usual `OSError`, a non-positive `draft_size` `ValueError`; anything wrong with the
    content raises `ImageRejected`.
    """
    if draft_size is not None and min(draft_size) <= 0:
        raise ValueError(f"draft_size must be positive, got {draft_size}")
    if isinstance(source, Image.Image):
        return _decode(source, data=None, limits=_Limits(max_pixels, max_aspect, max_side), draft_size=None)
    data = _read_source(source, max_bytes)
    if not data:
        _reject("empty", "That file is empty. Please upload the picture again.", detail="0 bytes")
    if max_bytes is not None and len(data) > max_bytes:
        _reject_too_large(len(data), max_bytes)
    try:
        opened = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        _reject_too_many_pixels(None, max_pixels, detail=str(exc))
    except UnidentifiedImageError as exc:
        sniffed = sniff_image_type(data)
        if sniffed is None:
            _reject(
                "not_an_image",
                f"That file is not an image I can read ({_FORMAT_NAMES}). Please use a picture in one of those.",
                detail=f"{len(data)} bytes starting {data[:16]!r}: {exc}",
            )
        _reject_broken(exc, data, stage=f"open {sniffed}")
    except Exception as exc:  # a plugin may raise anything on hostile headers; all of it is a bad upload
        _reject_broken(exc, data, stage="open")
    with opened:
        return _decode(opened, data=data, limits=_Limits(max_pixels, max_aspect, max_side), draft_size=draft_size)


def check_size(size: int, max_bytes: int | None) -> None:
    """Refuse an upload from its byte count alone, before anyone reads, copies or pickles its bytes."""
    if max_bytes is not None and size > max_bytes:
        _reject_too_large(size, max_bytes)


@dataclass(frozen=True)
class _Limits:
    """The caps one `load_image` call applies to the header and the decoded picture."""

    max_pixels: int
    max_aspect: float | None
    max_side: int | None


def _read_source(source: bytes | bytearray | memoryview | str | os.PathLike[str], max_bytes: int | None) -> bytes:
    """Get the raw bytes, refusing an oversized file from its size on disk before reading it."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    path = Path(source)
    check_size(path.stat().st_size, max_bytes)
    with path.open("rb") as handle:  # the file may have grown since the stat: never read more than the cap allows
        data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    check_size(len(data), max_bytes)
    return data


def _decode(
    image: Image.Image, *, data: bytes | None, limits: _Limits, draft_size: tuple[int, int] | None
) -> LoadedImage:
    """Check the header size, decode the first frame and normalise it; `image` is not returned itself."""
    width, height = image.size
    max_pixels = limits.max_pixels
    if width <= 0 or height <= 0:
        _reject_broken(ValueError(f"header size {width}x{height}"), data, stage="header")
    if width * height > max_pixels:
        _reject_too_many_pixels((width, height), max_pixels, detail="from the header, before decoding")
    if limits.max_aspect is not None and max(width, height) > limits.max_aspect * min(width, height):
        _reject_too_thin((width, height), limits.max_aspect)
    frame_count = _count_frames(image, data)  # before decoding: counting must not follow a moved frame pointer
    original_mode = image.mode
    if draft_size is not None and image.format in ("JPEG", "MPO"):
        image.draft("RGB", draft_size)
    try:
        image.load()
        upright = _apply_exif_orientation(image)
        rgb = to_rgb(upright)
        keyed = imgutils_view(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        _reject_too_many_pixels((width, height), max_pixels, detail=str(exc))
    except MemoryError:  # over the worker's memory limit: a cost, not damage (the worker names it)
        raise
    except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, EOFError, zlib.error, ...
        _reject_broken(exc, data, stage="decode")
    if rgb is image:
        rgb = image.copy()  # never hand back the file-backed object itself
    for picture in (rgb, keyed):
        if picture is not None and limits.max_side is not None and max(picture.size) > limits.max_side:
            picture.thumbnail((limits.max_side, limits.max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    rotated = upright.size != image.size
    original_size = (height, width) if rotated else (width, height)
    return LoadedImage(
        image=rgb,
        source_format=_format_name(image.format),
        frame_count=frame_count,
        original_mode=original_mode,
        original_size=original_size,
        imgutils_image=keyed,
    )


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    """Rotate/flip as the camera asked; a broken EXIF block leaves the pixels as stored rather than refuse them."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation in (None, 1):
            return image
        return ImageOps.exif_transpose(image)
    except Exception as exc:  # EXIF is metadata: a picture with bad EXIF is still a picture
        logger.info("ignoring unreadable EXIF orientation: %r", exc)
        return image


def _count_frames(image: Image.Image, data: bytes | None) -> int:
    """Frames in the file, at most MAX_FRAMES_COUNTED, read from frame headers without decoding or seeking frames.

    Pillow's `n_frames` seeks through every TIFF directory and GIF frame, so uploads of those two are walked by
    models.frames; PNG, WebP and MPO state their count in a header Pillow has already read (a caller's own PIL
    image is trusted with `n_frames`).
    """
    try:
        if image.format == "TIFF" and data is not None:
            return count_tiff_directories(data)
        if image.format == "GIF" and data is not None:
            return count_gif_frames(data)
        return max(1, min(MAX_FRAMES_COUNTED, int(getattr(image, "n_frames", 1))))
    except Exception as exc:  # a damaged later frame header must not lose frame 0
        logger.info("could not count frames, reporting 1: %r", exc)
        return 1


def _format_name(pillow_format: str | None) -> str | None:
    """Report formats the way `sniff_image_type` names them (an MPO is a JPEG to everyone else)."""
    if pillow_format is None:
        return None
    return "jpeg" if pillow_format == "MPO" else pillow_format.lower()


def _looks_truncated(data: bytes) -> bool:
    """Whether the container's own framing says bytes are missing from the end."""
    kind = sniff_image_type(data)
    tail = data[-32:]
    if kind == "png":
        return b"IEND" not in tail
    if kind == "jpeg":
        return b"\xff\xd9" not in tail
    if kind == "gif":
        return not data.rstrip(b"\x00").endswith(b";")
    if kind == "webp":
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if kind == "bmp":
        return int.from_bytes(data[2:6], "little") > len(data)
    return False


def _reject_broken(exc: BaseException, data: bytes | None, *, stage: str) -> NoReturn:
    """Refuse a file Pillow recognised but could not decode, telling cut-off files from damaged ones."""
    message = str(exc)
    truncated = (
        "truncat" in message.lower() or isinstance(exc, EOFError) or (data is not None and _looks_truncated(data))
    )
    detail = f"{stage} failed: {type(exc).__name__}: {message}"
    if truncated:
        _reject("truncated", "That image is incomplete (the file was cut off). Please upload it again.", detail=detail)
    _reject(
        "corrupt",
        "That image is damaged and cannot be decoded. Please re-save it as PNG or JPEG and try again.",
        detail=detail,
    )


def _reject_too_large(size: int, max_bytes: int) -> NoReturn:
    """Refuse a file over the byte limit, saying both sizes so the user knows how much to shrink it."""
    _reject(
        "too_large",
        f"That file is too large ({size / 1_000_000:.1f} MB; the limit is {max_bytes / 1_000_000:.1f} MB). "
        "Please use a smaller or more compressed version.",
        detail=f"{size} bytes > max_bytes={max_bytes}",
    )


def _reject_too_thin(size: tuple[int, int], max_aspect: float) -> NoReturn:
    """Refuse a strip from its header: far longer than wide, it would be padded to a vast, nearly empty square."""
    _reject(
        "too_thin",
        f"That image is too long and thin ({size[0]}x{size[1]} pixels; at most {max_aspect:g} to 1). "
        "Please crop it to the part with the character.",
        detail=f"{size[0]}x{size[1]} pixels, max_aspect={max_aspect:g}: from the header, before decoding",
    )


def _reject_too_many_pixels(size: tuple[int, int] | None, max_pixels: int, *, detail: str) -> NoReturn:
    """Refuse a picture whose declared size is over the pixel cap (a decompression bomb or a huge scan)."""
    dimensions = f"{size[0]}x{size[1]} pixels; " if size else ""
    _reject(
        "too_many_pixels",
        f"That image is too big ({dimensions}the limit is {max_pixels / 1_000_000:g} megapixels). "
        "Please use a smaller version.",
        detail=f"{dimensions}max_pixels={max_pixels}: {detail}",
    )


def _reject(reason: str, user_message: str, *, detail: str) -> NoReturn:
    """Log why an upload was refused, then raise the typed error whose message the user will see."""
    logger.info("image rejected (%s): %s", reason, detail)
    raise ImageRejected(reason, user_message, detail=f"{reason}: {detail}")
