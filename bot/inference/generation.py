"""One generation of the pool: a `ProcessPoolExecutor`, its warm-up, and the blunt tools to end it.

A dead or hung worker poisons its whole executor, so the pool never repairs one: it retires the
generation and starts the next. The executor's process table is private API (`_processes`); it is
read only here, because killing a worker stuck in native code needs its pid.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from bot.config import Settings
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
    ready = asyncio.ensure_future(asyncio.gather(*(asyncio.wrap_future(check) for check in checks)))
    ready.add_done_callback(_consume_exception)
    log.info("pool generation %d: starting %d worker(s)", number, workers)
    return Generation(number=number, executor=executor, ready=ready)


def _consume_exception(future: asyncio.Future[list[int]]) -> None:
    """Mark a start-up failure as seen; the jobs that await it report it to their callers."""
    if not future.cancelled():
        future.exception()
