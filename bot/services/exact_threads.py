"""The threads exact rankings run on: BLAS kept to the calling thread there, so a core stays free for the loop.

Why: an exact ranking (whynot, eval) keeps its thread busy for seconds at 500k rows, one metric call per
16k-row chunk. With BLAS's default of a thread per core, each matrix product woke BLAS's helper thread, which
then spun between the calls (`perf` at 300k rows: 45% of the process's CPU samples in OpenBLAS's
`blas_thread_server`, 2.7% in its product kernel), so the ranking filled both cores of a two-core machine
and the event loop queued for one: single ticks of 29-132 ms (benchmarks/embedding_scale.py). No step held
the GIL for long (each numpy call of the exact path releases it: a monitor thread's gaps stayed at the switch
interval for every step run alone). One BLAS thread for these threads only (OpenBLAS >= 0.3.27's per-thread
setting), with the widening's reused buffer (bot/recognition/embedding_rows.py), took the process from 1.9
cores to 1.06 during exact rankings, and them 11-16% faster; the rest of the process keeps its BLAS threads, and
without the setting nothing changes. What is left of the worst tick is mostly the shared machine's own
(benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import functools
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries this process has loaded (Linux: from its memory map)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and line.rstrip().endswith(".so")}
    except OSError:
        return []
    return sorted(paths)


def one_blas_thread() -> bool:
    """Run this thread's BLAS calls on this thread alone (other threads keep theirs); True when it took effect."""
    done = False
    for path in _loaded_openblas():
        try:
            setting = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
        except OSError:
            continue
        if setting is not None:
            setting.argtypes, setting.restype = [ctypes.c_int], ctypes.c_int
            setting(1)
            done = True
    return done


def exact_pool() -> ThreadPoolExecutor:
    """The exact rankings' threads, made on first use (from the event loop), each kept to one BLAS thread."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=max(1, min(4, os.cpu_count() or 1)),
            thread_name_prefix="exact-ranking",
            initializer=one_blas_thread,
        )
    return _pool


async def run_exact(function: Callable[..., T], *args: object) -> T:
    """`asyncio.to_thread`, on the exact rankings' threads (the caller's context variables go along)."""
    call = functools.partial(contextvars.copy_context().run, function, *args)
    return await asyncio.get_running_loop().run_in_executor(exact_pool(), call)
