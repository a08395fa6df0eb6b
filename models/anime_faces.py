"""Anime face detection with the optional `animeface` wheel (extra `faces`) under any Pillow, via a ctypes struct.

Why: `animeface._nvxs.detect` reads Pillow's C image struct directly, with the layout of Pillow 4.2
(2017). Pillow >= 11 changed that struct, so the stock `animeface.detect(im)` silently returns no faces.
The extension only needs an object whose first field after the PyObject header points at a struct with
that old layout; a ctypes `Structure` instance is exactly that (CPython's CDataObject starts with `b_ptr`,
the address of the structure's buffer), so we build the struct over a numpy RGBX buffer ourselves.

What `_nvxs.detect` reads (disassembly of animeface 2.0.3's `_nvxs` for CPython 3.11 x86-64): the pointer
at object+0x10; `mode` at +0x00 ("RGB" or the 8-bit path); `xsize` +0x14, `ysize` +0x18; for RGB the row
pointers `image` at +0x38, 4 bytes per pixel. These are Pillow 4.2's `ImagingMemoryInstance` offsets on
LP64, which `_ImagingMemoryInstance` mirrors and `_check_layout` asserts. Measured equal to stock animeface
under Pillow 10.4 on the evaluation sets. The detector's colour analysis draws from a global RNG in libnvxs,
reseeded with `nv_srand` before every call so a picture always gives the same faces. The extension keeps
global state and holds the GIL: calls are serialised; run one detector per worker process.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from models.face_detector import Detection
from models.rgb import to_rgb

log = logging.getLogger(__name__)

DEFAULT_MAX_SIDE = 768
"""Longest side the detector sees. The detector cost grows with area; 768 px keeps a face of a
quarter of the picture's width at ~190 px, far above the detector's minimum window."""

RNG_SEED = 0

IMAGING_MODE_LENGTH = 6 + 1


class _ImagingMemoryInstance(ctypes.Structure):
    """Pillow 4.2 `struct ImagingMemoryInstance` (libImaging/Imaging.h), field for field."""

    _fields_ = [
        ("mode", ctypes.c_char * IMAGING_MODE_LENGTH),
        ("type", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bands", ctypes.c_int),
        ("xsize", ctypes.c_int),
        ("ysize", ctypes.c_int),
        ("palette", ctypes.c_void_p),
        ("image8", ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8))),
        ("image32", ctypes.POINTER(ctypes.POINTER(ctypes.c_int32))),
        ("image", ctypes.POINTER(ctypes.c_char_p)),
        ("block", ctypes.c_char_p),
        ("pixelsize", ctypes.c_int),
        ("linesize", ctypes.c_int),
        ("destroy", ctypes.c_void_p),
    ]


_EXPECTED_OFFSETS = {"mode": 0x00, "xsize": 0x14, "ysize": 0x18, "image8": 0x28, "image32": 0x30, "image": 0x38}
"""The offsets the extension's machine code uses (see the module docstring)."""


class DetectorUnavailable(RuntimeError):
    """The animeface extension cannot be used here; the message names the cause."""


def _check_layout() -> None:
    for name, offset in _EXPECTED_OFFSETS.items():
        actual = getattr(_ImagingMemoryInstance, name).offset
        if actual != offset:
            raise DetectorUnavailable(f"ctypes layout of {name} is at {actual:#x}, the extension reads {offset:#x}")
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        raise DetectorUnavailable("the animeface struct trick is only verified on 64-bit platforms")


def _load_native() -> tuple[Callable[[Any], list[dict[str, Any]]], Callable[[int], None]]:
    try:
        from animeface import _nvxs  # type: ignore[import-untyped]
    except ImportError as error:
        raise DetectorUnavailable(
            f"animeface is not installed ({error}); `pip install waifu-bot[faces]` adds it"
        ) from error
    detect = getattr(_nvxs, "detect", None)
    if detect is None or getattr(_nvxs, "__file__", "").endswith(".py"):
        raise DetectorUnavailable("animeface's C extension _nvxs is missing (pure-Python stub loaded)")
    package_dir = Path(_nvxs.__file__).resolve().parent
    candidates = sorted(glob.glob(str(package_dir.parent / "animeface.libs" / "libnvxs*.so*")))
    candidates += sorted(glob.glob(str(package_dir / "libnvxs*.so*")))
    if not candidates:
        raise DetectorUnavailable(f"libnvxs not found next to {package_dir}")
    # the extension has already loaded this file, so dlopen returns the same handle and the same RNG state
    library = ctypes.CDLL(candidates[0])
    try:
        srand = library.nv_srand
    except AttributeError as error:
        raise DetectorUnavailable(f"{candidates[0]} does not export nv_srand") from error
    srand.argtypes = [ctypes.c_long]
    srand.restype = None
    return detect, srand


class _RGBXImage:
    """A C-contiguous HxWx4 uint8 buffer with row pointers and the struct pointing at them; keeps all alive."""

    def __init__(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        if height < 1 or width < 1:
            raise ValueError("empty image")
        self.buffer = np.empty((height, width, 4), dtype=np.uint8)
        self.buffer[:, :, :3] = rgb
        self.buffer[:, :, 3] = 255
        base = self.buffer.ctypes.data
        stride = self.buffer.strides[0]
        self.rows = (ctypes.c_char_p * height)(*[base + y * stride for y in range(height)])
        rows_as_int32 = ctypes.cast(self.rows, ctypes.POINTER(ctypes.POINTER(ctypes.c_int32)))
        self.instance = _ImagingMemoryInstance(
            mode=b"RGB",
            type=0,  # IMAGING_TYPE_UINT8
            depth=8,
            bands=3,
            xsize=width,
            ysize=height,
            palette=None,
            image8=None,
            image32=rows_as_int32,
            image=ctypes.cast(self.rows, ctypes.POINTER(ctypes.c_char_p)),
            block=ctypes.cast(base, ctypes.c_char_p),
            pixelsize=4,
            linesize=width * 4,
            destroy=None,
        )
        # Pillow's ImagingObject is { PyObject_HEAD; Imaging image; }; a ctypes instance is
        # { PyObject_HEAD; char *b_ptr; ... } with b_ptr the address of its own buffer, so passing the
        # Structure instance itself hands the extension a pointer to this struct at object+0x10
        self.handle_object = self.instance


class AnimeFaceDetector:
    """animeface (nagadomi's AnimeFace 2009) behind the project's detector interface (`models.faces.FaceFinder`)."""

    identity = "animeface@2.0.3"

    def __init__(self, *, max_side: int = DEFAULT_MAX_SIDE, seed: int = RNG_SEED) -> None:
        _check_layout()
        self._detect, self._srand = _load_native()
        self.input_size = (max_side, max_side)
        self.max_side = max_side
        self.seed = seed
        self._lock = threading.Lock()

    def detect_array(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an HxWx3 uint8 RGB array, in that array's coordinates (no resizing)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected HxWx3 RGB, got {rgb.shape}")
        image = _RGBXImage(rgb)
        with self._lock:
            self._srand(self.seed)
            results = self._detect(image.handle_object)
        faces: list[Detection] = []
        for result in results:
            x, y, w, h = (int(v) for v in result["face_box"])
            faces.append(Detection(box=(x, y, x + w, y + h), label="face", score=float(result["likelihood"])))
        del image  # buffers outlive the call
        return faces

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces in a picture of any mode, in its own pixel coordinates, most likely first."""
        rgb_picture = to_rgb(image)
        width, height = rgb_picture.size
        scale = 1.0
        if max(width, height) > self.max_side:
            scale = self.max_side / max(width, height)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb_picture = rgb_picture.resize(size, Image.Resampling.BILINEAR)
        faces = self.detect_array(np.asarray(rgb_picture))
        if scale != 1.0:
            faces = [replace(face, box=_unscale(face.box, scale, (width, height))) for face in faces]
        return sorted(faces, key=lambda face: -face.score)


def _unscale(box: tuple[int, int, int, int], scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box from the reduced picture back in the original's pixels, clipped to it."""
    x0, y0, x1, y1 = box
    width, height = size
    return (
        max(0, min(width, round(x0 / scale))),
        max(0, min(height, round(y0 / scale))),
        max(0, min(width, round(x1 / scale))),
        max(0, min(height, round(y1 / scale))),
    )


def self_check(probe: Image.Image | None = None, detector: AnimeFaceDetector | None = None) -> str | None:
    """None when the detector works; otherwise the reason it must be disabled (log it once, disable it).

    Checks, cheapest first: the ctypes layout, the native library and nv_srand, that a blank picture gives
    no faces without crashing, and, with `probe` (a picture with one clear drawn face, shipped with the
    package), that a face is found and that two calls agree (the RNG is seeded).
    """
    try:
        detector = detector or AnimeFaceDetector()
        blank = detector.detect_array(np.full((64, 64, 3), 255, dtype=np.uint8))
        if blank:
            return f"the detector found {len(blank)} faces on a blank picture: the struct is misread"
        if probe is not None:
            first = detector.detect(probe)
            if not first:
                return "the detector found no face on the probe picture: the image struct trick no longer works"
            second = detector.detect(probe)
            if first != second:
                return "two calls on the probe picture disagree: seeding nv_srand no longer makes it deterministic"
    except DetectorUnavailable as error:
        return str(error)
    except Exception as error:
        return f"the detector failed its self-check: {type(error).__name__}: {error}"
    return None


_disabled_reason: str | None = None


def open_anime_faces(*, max_side: int = DEFAULT_MAX_SIDE) -> AnimeFaceDetector | None:
    """The detector after its self-check, or None with ONE warning naming the cause (never silently faceless)."""
    global _disabled_reason
    if _disabled_reason is not None:
        return None
    try:
        detector = AnimeFaceDetector(max_side=max_side)
    except DetectorUnavailable as error:
        reason: str | None = str(error)
    else:
        reason = self_check(detector=detector)
        if reason is None:
            return detector
    _disabled_reason = reason
    log.warning("face blocks disabled: %s (whole-picture blocks still work)", reason)
    return None
