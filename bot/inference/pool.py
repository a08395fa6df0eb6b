"""The inference process pool: ONNX work leaves the event loop, and a bad image or a dead worker stays contained.

Design (see benchmarks/README.md for the numbers):
- A `ProcessPoolExecutor` (spawn start method: onnxruntime's threads do not survive `fork`) whose
  initializer builds one engine per worker; decoding happens in the worker too.
- At most `workers` jobs are handed to the executor at once; the rest wait in the event loop in turn. Callers
  get `Busy` only past `max_wait`, `max_queued_per_owner` or `max_in_flight` (admission.py). So a job's timeout
  clock starts when a worker is free to take it, and a rebuilt pool only ever loses the running jobs.
- A dead worker breaks the whole executor (CPython terminates its siblings). Every job that was running is
  retried once on a fresh executor, one at a time, so a "poison" image that kills its worker again cannot take
  down the innocent jobs retried beside it; broken twice, it is a service failure, not the picture's fault.
- A generation whose worker dies while starting is killed and replaced at once; its jobs wait for the next.
- A job past `job_timeout` fails with `InferenceFailed`; its executor's processes are killed (the hung one is
  not identifiable from outside) and the other running jobs are retried as above.
- A caller that is cancelled mid-job does not free its worker slot until the worker is really free.
Executors come and go as `Generation`s (generation.py); worker-side code is in worker.py.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from concurrent.futures.process import BrokenProcessPool

from bot.config import Settings
from bot.errors import Busy, InferenceFailed, PoolClosed
from bot.inference.admission import Admission
from bot.inference.generation import (
    Generation,
    consume_outcome,
    default_engine_factory,
    not_starting,
    start_generation,
    worker_settings,
)
from bot.inference.stats import PoolCounters, PoolHealth
from bot.inference.worker import EngineFactory, analyze_in_worker
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from models.errors import ImageRejected
from models.intake import check_size

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0
"""Seconds a fresh executor may take to spawn its workers and load their models."""
START_DEATHS = 3
"""Generations in a row whose workers die while starting (not a load error: a killed process) before jobs fail."""


class InferencePool:
    """An `Analyzer` running the recognition engine in worker processes, bounded and self-healing."""

    def __init__(
        self, settings: Settings, engine_factory: EngineFactory | None = None, *, start_method: str = "spawn"
    ) -> None:
        if settings.pool.workers < 1:
            raise ValueError("an InferencePool needs settings.pool.workers >= 1; use LocalAnalyzer for 0")
        if start_method == "fork":
            raise ValueError("the fork start method is unsafe with onnxruntime's threads; use spawn or forkserver")
        self.settings = settings
        self._workers = settings.pool.workers
        self._capacity = max(1, settings.pool.max_in_flight)
        self._job_timeout = settings.pool.job_timeout
        self._worker_settings = worker_settings(settings)
        self._engine_factory = engine_factory or default_engine_factory()
        self._context = multiprocessing.get_context(start_method)
        self._generation: Generation | None = None
        self._generations = 0
        self._slots = asyncio.Semaphore(self._workers)
        self._retry_lock = asyncio.Lock()
        pool = settings.pool
        self._admission = Admission(
            workers=self._workers,
            capacity=self._capacity,
            max_wait=pool.max_wait,
            per_owner=pool.max_queued_per_owner,
        )
        self._running = 0
        self._abandoned = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._accepting = True
        self._aborting = False
        self._closed = False
        self._reapers: set[asyncio.Task[None]] = set()
        self._counters = PoolCounters()

    async def start(self) -> None:
        """Spawn the workers and load their models now, so the first job does not pay for it."""
        await self._ready_generation()

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Analyse one image in a worker; `Busy` when the wait is too long, `InferenceFailed` on crash or timeout."""
        if not self._accepting:
            raise PoolClosed()
        try:
            self._admission.admit(job.owner)
        except Busy:
            self._counters.busy += 1
            raise
        self._idle.clear()
        started = time.perf_counter()
        try:
            check_size(len(job.image), self.settings.images.max_bytes)  # before the bytes are queued or pickled
            analysis = await self._run_with_retry(job)
        except ImageRejected:
            self._counters.rejected += 1
            raise
        except Exception:
            self._counters.failed += 1
            raise
        finally:
            self._admission.release(job.owner)
            if self._admission.in_flight == 0:
                self._idle.set()
        self._counters.done += 1
        self._counters.record_latency(time.perf_counter() - started)
        return analysis

    async def close(self, deadline: float | None = None) -> None:
        """Stop accepting, let in-flight jobs finish for up to `deadline` seconds, then kill the rest."""
        if self._closed:
            return
        self._accepting = False
        deadline = self.settings.pool.shutdown_deadline if deadline is None else deadline
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + max(0.0, deadline)
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=max(0.0, deadline))
        except TimeoutError:
            log.warning(
                "pool shutdown: %d job(s) still running after %.1f s; killing workers",
                self._admission.in_flight,
                deadline,
            )
            self._aborting = True
            if self._generation is not None:
                self._retire(self._generation, kill=True)
            await self._idle.wait()
        self._closed = True
        generation, self._generation = self._generation, None
        if generation is not None:
            self._retire(generation, kill=False)
        if not self._reapers:
            return
        # jobs whose callers gave up may still occupy workers: they get what is left of the deadline
        _, pending = await asyncio.wait(set(self._reapers), timeout=max(0.5, give_up_at - loop.time()))
        if pending and generation is not None:
            generation.kill()
        await asyncio.gather(*pending, return_exceptions=True)

    def health(self) -> PoolHealth:
        """Counters and recent latency of this pool, for `waifu-bot pool` and the logs."""
        p50, p95 = self._counters.percentiles()
        return PoolHealth(
            workers=self._workers,
            workers_alive=self._alive_workers(),
            accepting=self._accepting,
            running=self._running + self._abandoned,
            waiting=self._admission.in_flight - self._running,
            capacity=self._capacity,
            jobs_done=self._counters.done,
            jobs_failed=self._counters.failed,
            jobs_rejected=self._counters.rejected,
            jobs_busy=self._counters.busy,
            jobs_timed_out=self._counters.timed_out,
            jobs_retried=self._counters.retried,
            restarts=self._counters.restarts,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_window=self._counters.window_size,
        )

    def worker_pids(self) -> list[int]:
        """Pids of the current workers (for health output and tests that kill one)."""
        generation = self._generation
        return [] if generation is None else generation.alive_pids()

    async def _run_with_retry(self, job: InferenceJob) -> ImageAnalysis:
        """One attempt, and one more on a fresh executor when a worker died under it."""
        try:
            outcome = await self._attempt(job)
        except BrokenProcessPool as error:
            if self._aborting:
                raise PoolClosed() from error
            self._counters.retried += 1
            log.warning("a pool worker died while running a job; retrying it once on a fresh pool")
            async with self._retry_lock:
                try:
                    outcome = await self._attempt(job)
                except BrokenProcessPool as second:
                    if self._aborting:
                        raise PoolClosed() from second
                    raise InferenceFailed(
                        "The recognizer failed twice while working on this picture; please try again in a minute.",
                        detail=f"pool workers died twice under one job (a service failure): {second}",
                    ) from second
        return outcome

    async def _attempt(self, job: InferenceJob) -> ImageAnalysis:
        """Wait for a free worker, run the job under the timeout, and retire the executor if it broke."""
        await self._slots.acquire()
        slot_handed_over = False
        try:
            if self._aborting or self._closed:
                raise PoolClosed()
            generation = await self._ready_generation()
            self._running += 1
            loop = asyncio.get_running_loop()
            started = loop.time()
            deadline = started + self._job_timeout
            try:
                result = asyncio.wrap_future(generation.executor.submit(analyze_in_worker, job))
                result.add_done_callback(consume_outcome)  # a timed-out or abandoned job's error is seen here
                return await asyncio.wait_for(asyncio.shield(result), timeout=self._job_timeout)
            except BrokenProcessPool:
                self._retire(generation, kill=False)
                raise
            except TimeoutError as error:
                self._on_timeout(generation)
                raise InferenceFailed(
                    "Analysing this picture took too long; try a smaller or simpler picture.",
                    detail=f"job exceeded {self._job_timeout} s",
                ) from error
            except asyncio.CancelledError:
                if not result.done():  # the caller gave up, the worker did not: keep its slot until it is free
                    slot_handed_over = True
                    self._watch_abandoned(result, generation, deadline)
                raise
            finally:
                self._running -= 1
                self._admission.record(loop.time() - started)
        finally:
            if not slot_handed_over:
                self._slots.release()

    def _on_timeout(self, generation: Generation) -> None:
        self._counters.timed_out += 1
        log.error("inference job exceeded %.1f s; killing pool generation %d", self._job_timeout, generation.number)
        self._retire(generation, kill=True)

    def _watch_abandoned(self, result: asyncio.Future[object], generation: Generation, deadline: float) -> None:
        """Hold the slot of a job whose caller was cancelled until its worker is free, under the same timeout."""
        self._abandoned += 1

        async def watch() -> None:
            try:
                remaining = deadline - asyncio.get_running_loop().time()
                await asyncio.wait_for(result, timeout=max(0.0, remaining))
            except TimeoutError:
                self._on_timeout(generation)
            except Exception:  # the job's own outcome no longer matters to anyone
                log.debug("abandoned job ended with an error", exc_info=True)
            finally:
                self._abandoned -= 1
                self._slots.release()

        watcher = asyncio.ensure_future(watch())
        self._reapers.add(watcher)
        watcher.add_done_callback(self._reapers.discard)
        watcher.add_done_callback(consume_outcome)

    async def _ready_generation(self) -> Generation:
        """The live executor, creating and warming a fresh one when there is none; a start-up death (seen when the
        process ends) kills the generation and the caller waits for the next, without spending the job's retry."""
        for _ in range(START_DEATHS):
            if self._closed or self._aborting:
                raise PoolClosed()
            if self._generation is None or self._generation.retired:
                self._generation = self._new_generation()
            generation = self._generation
            if generation.is_ready():
                return generation
            try:
                await asyncio.wait_for(asyncio.shield(generation.ready), timeout=START_TIMEOUT)
            except BrokenProcessPool:
                # its siblings wait at the start barrier: end them now, and start the next generation
                log.warning("a worker of pool generation %d died while starting; replacing it", generation.number)
                self._retire(generation, kill=True)
                continue
            except TimeoutError as error:
                self._retire(generation, kill=True)
                raise not_starting(f"pool workers not ready after {START_TIMEOUT} s") from error
            return generation
        raise not_starting(f"a worker died while starting in {START_DEATHS} pool generations in a row")

    def _new_generation(self) -> Generation:
        """A fresh executor; every one after the first counts as a restart."""
        self._generations += 1
        if self._generations > 1:
            self._counters.restarts += 1
        return start_generation(
            self._generations,
            workers=self._workers,
            context=self._context,
            engine_factory=self._engine_factory,
            settings=self._worker_settings,
        )

    def _retire(self, generation: Generation, *, kill: bool) -> None:
        """Stop using an executor; kill its processes when one may be hung, and reap them off the loop."""
        if kill:
            generation.kill()
        if generation.retired:
            return
        generation.retired = True
        if generation is self._generation and not (self._aborting or self._closed):
            self._generation = self._new_generation()  # respawn now, so the next job finds warm workers
        # no cancel_futures: a job still queued there must fail as BrokenProcessPool (and be retried), not
        # as a cancellation its caller would mistake for its own
        reaper = asyncio.ensure_future(asyncio.to_thread(generation.executor.shutdown, wait=True))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        reaper.add_done_callback(consume_outcome)

    def _alive_workers(self) -> int:
        generation = self._generation
        return 0 if generation is None or generation.retired else len(generation.alive_pids())
