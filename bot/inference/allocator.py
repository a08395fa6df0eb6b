"""Keep freed image buffers in the worker's heap instead of handing them back to the kernel after every job.

Why: glibc serves each multi-megabyte decode/resize buffer with a fresh mmap and unmaps it on free, so
every job pays page faults for ~20 MB again. On a 1 MP JPEG through the palette tagger that was a
quarter of the job's CPU (benchmarks/README.md). Raising the mmap and trim thresholds lets the heap
reuse those pages; the price is up to `TRIM_THRESHOLD` of freed memory kept resident per worker.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
"""Allocations below this come from the heap (glibc's documented maximum on 64-bit)."""
TRIM_THRESHOLD = 128 * 1024 * 1024
"""Freed memory kept at the top of the heap before it is returned to the kernel."""


def keep_freed_memory() -> bool:
    """Apply the thresholds with glibc's mallopt; False (and nothing changed) on other C libraries."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and macOS have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.debug("malloc thresholds raised: %s", applied)
    return applied
