"""One generation of the pool: a `ProcessPoolExecutor`, its warm-up, and the blunt tools to end it.

A dead or hung worker poisons its whole executor, so the pool never repairs one: it retires the
generation and starts the next. The executor's process table (`_processes`) and manager wake-up are private
API, used only here: killing a worker stuck in native code needs its pid, and a worker dying at start-up must
be noticed at once.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from bot.config import Settings
from bot.errors import InferenceFailed
from bot.inference.worker import EngineFactory, initialize_worker, worker_ready

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """An executor and the future that says all its workers have loaded their engines."""

    number: int
    executor: ProcessPoolExecutor
    ready: asyncio.Future[list[int]]
    retired: bool = False

    def is_ready(self) -> bool:
        """Start-up finished without error, so jobs can go straight in."""
        return self.ready.done() and not self.ready.cancelled() and self.ready.exception() is None

    def processes(self) -> dict[int, BaseProcess]:
        """The executor's worker processes by pid (empty once it has shut down)."""
        return dict(self.executor._processes or {})

    def alive_pids(self) -> list[int]:
        """Pids of the workers still running."""
        return [pid for pid, process in self.processes().items() if process.is_alive()]

    def kill(self) -> None:
        """SIGKILL every worker: the only way to free one stuck in native code."""
        for process in self.processes().values():
            if process.is_alive():
                process.kill()


def start_generation(
    number: int, *, workers: int, context: BaseContext, engine_factory: EngineFactory, settings: Settings
) -> Generation:
    """Create an executor and send one ready-check per worker, so every process spawns and loads now."""
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=initialize_worker,
        initargs=(engine_factory, settings, context.Barrier(workers)),
    )
    checks: list[Future[int]] = [executor.submit(worker_ready) for _ in range(workers)]
    # CPython 3.11 wakes the executor's manager thread before spawning each new worker, so it may never watch
    # the last one: if that worker died while loading, nobody would notice until the start timeout. Wake it again.
    wakeup = getattr(executor, "_executor_manager_thread_wakeup", None)
    if wakeup is not None:
        wakeup.wakeup()
    ready = asyncio.ensure_future(asyncio.gather(*(asyncio.wrap_future(check) for check in checks)))
    ready.add_done_callback(consume_outcome)
    log.info("pool generation %d: starting %d worker(s)", number, workers)
    return Generation(number=number, executor=executor, ready=ready)


def not_starting(detail: str) -> InferenceFailed:
    """The failure of jobs whose workers cannot be started (the detail, for the log, says why)."""
    return InferenceFailed("The recognizer is not starting; try again in a minute.", detail=detail)


def consume_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a future's error as seen, so asyncio never logs 'exception was never retrieved'; whoever awaits it
    still gets the error (a start-up failure reaches the jobs waiting for it, a job's its caller)."""
    if not future.cancelled():
        future.exception()


def worker_settings(settings: Settings) -> Settings:
    """What workers get: intra-op threads pinned to cores // workers (no oversubscription), and no bot token."""
    onnx = settings.onnx.model_copy(update={"intra_op_threads": settings.intra_op_threads()})
    return settings.model_copy(update={"onnx": onnx, "discord_token": None})


def default_engine_factory() -> EngineFactory:
    """The production engine's factory, imported only when a pool is made (the engine pulls in the models)."""
    from bot.inference.engine import build_recognition_engine

    return build_recognition_engine
