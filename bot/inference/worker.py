"""What runs inside a pool worker: the engine is built once per process, then every job reuses it.

Everything here is top-level so the spawn/forkserver start methods can pickle it by reference.
Exceptions are made portable before they cross the process boundary: an exception the parent cannot
unpickle would mark the whole executor broken, taking every in-flight job down with it. Our own errors
(`UserFacingError`, `ImageRejected` among them) pickle by state, so they cross as themselves.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol

from PIL import Image

from bot.config import Settings
from bot.inference.allocator import keep_freed_memory
from bot.inference.limits import JobLimits, JobOverBudget, die_with_parent
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from models.errors import ImageRejected

log = logging.getLogger(__name__)


class Engine(Protocol):
    """The synchronous analysis a worker runs; `bot.inference.engine.RecognitionEngine` is the real one."""

    def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Analyse one image in this process."""
        ...


EngineFactory = Callable[[Settings], Engine]
"""Top-level callable building an engine from settings; called once in each worker process."""


class WorkerError(RuntimeError):
    """Stands in for a worker exception that would not survive pickling."""


READY_TIMEOUT = 120.0
"""Seconds a worker waits for its siblings at start-up before giving up."""

_engine: Engine | None = None
_load_error: BaseException | None = None
_start_barrier: threading.Barrier | None = None
_limits: JobLimits | None = None


def initialize_worker(engine_factory: EngineFactory, settings: Settings, start_barrier: threading.Barrier) -> None:
    """Build this worker's engine once and run it once; a failure is kept and re-raised per job."""
    global _engine, _load_error, _start_barrier, _limits
    # Ctrl-C reaches the whole process group; only the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None else os.getppid())
    keep_freed_memory()
    _start_barrier = start_barrier
    try:
        _engine = engine_factory(settings)
        _warm_up(_engine)
    except Exception as error:  # any factory failure must reach the caller, not crash the executor
        log.exception("worker %d could not build its engine", os.getpid())
        _load_error = portable_error(error)
    # after loading, so the models fit whatever the cap: it bounds what one job may add
    _limits = JobLimits.install(settings.pool.job_memory_mb, settings.pool.job_cpu_seconds)


def worker_ready() -> int:
    """The worker's pid once every worker is loaded (one call per worker meets at the barrier)."""
    if _start_barrier is not None:
        _start_barrier.wait(READY_TIMEOUT)
    if _load_error is not None:
        raise _load_error
    return os.getpid()


def _warm_up(engine: Engine) -> None:
    """Run one small picture so lazy imports and first-run allocations do not land on a user's job."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 96, 64)).save(buffer, format="PNG")
    try:
        engine.analyze(InferenceJob(image=buffer.getvalue(), detect_faces=False))
    except ImageRejected:
        log.debug("warm-up picture rejected by the engine; continuing")


def analyze_in_worker(job: InferenceJob) -> ImageAnalysis:
    """Run one job on this worker's engine; errors are raised in a form the parent can unpickle."""
    if _load_error is not None:
        raise _load_error
    if _engine is None:
        raise WorkerError("the worker was not initialised with an engine")
    try:
        if _limits is None:
            return _engine.analyze(job)
        with _limits.one_job():
            return _engine.analyze(job)
    except (MemoryError, JobOverBudget) as error:
        limit = "memory" if isinstance(error, MemoryError) else "processor time"
        raise ImageRejected(
            "too_costly",
            f"That picture needs more {limit} than one analysis may use. Please send a smaller or simpler version.",
            detail=f"over the worker's per-job {limit} limit: {type(error).__name__}",
        ) from None
    except Exception as error:
        raise portable_error(error) from None


def portable_error(error: BaseException) -> BaseException:
    """The error itself when it round-trips through pickle, else a `WorkerError` with its text."""
    try:
        restored: Any = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, same process
    except Exception:
        return WorkerError(f"{type(error).__name__}: {error}")
    return error if isinstance(restored, type(error)) else WorkerError(f"{type(error).__name__}: {error}")
