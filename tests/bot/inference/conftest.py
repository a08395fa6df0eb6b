"""Pool fixtures: spawning workers costs about a second, so one pool serves a whole module where safe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config import PoolSettings, Settings
from bot.inference import InferencePool
from bot.inference.engine import RecognitionEngine, build_recognition_engine
from tests.bot.inference.engines import magic_engine


def pool_settings(data_dir: Path, **pool: object) -> Settings:
    """Settings for a test pool over the palette tagger in `data_dir`."""
    return Settings(data_dir=data_dir, tagger="palette", pool=PoolSettings(**pool), _env_file=None)


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two workers, room for four jobs, a short timeout so hang tests stay fast.

    Short, but ten times a fresh worker's first real job (about 0.3 s here, warm-up included), so a loaded machine
    does not turn a normal job into a timeout.
    """
    return pool_settings(tmp_path_factory.mktemp("pool"), workers=2, max_in_flight=4, job_timeout=3.0)


@pytest.fixture(scope="module")
def local_engine(shared_settings: Settings) -> RecognitionEngine:
    """The in-process engine results are compared with (also builds the palette tagger once)."""
    return build_recognition_engine(shared_settings)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool(shared_settings: Settings, local_engine: RecognitionEngine) -> AsyncIterator[InferencePool]:
    """A started two-worker pool running the real engine behind the magic test payloads."""
    started = InferencePool(shared_settings, magic_engine)
    await started.start()
    yield started
    await started.close()


@dataclass(frozen=True)
class LoopLag:
    """The largest gaps between a ticker's turns on the loop: in wall time, and in this thread's CPU time.

    A loaded machine stretches the wall gap (the process waits for a core) but not the CPU gap; work done on the
    loop instead of in a worker stretches both. So CPU is the measure of blocking work, and wall time is left a
    bound only for waits (a worker's start, a timeout, a hang) that take a second or more.
    """

    wall: float
    cpu: float


async def max_loop_lag(work: asyncio.Future[object], interval: float = 0.01) -> LoopLag:
    """The largest gaps beyond `interval` of a ticker running on the loop until `work` finishes."""
    loop = asyncio.get_running_loop()
    wall = cpu = 0.0
    while not work.done():
        before, spent = loop.time(), time.thread_time()
        await asyncio.sleep(interval)
        wall = max(wall, loop.time() - before - interval)
        cpu = max(cpu, time.thread_time() - spent)
    return LoopLag(wall, cpu)


async def until(condition: Callable[[], bool], *, what: str, within: float = 60.0) -> None:
    """Wait, a loop turn at a time, until `condition()` holds: a state reached, not a guess at how long it takes.

    `within` only keeps a broken pool from hanging the suite; it is far beyond any loaded machine's delay.
    """
    try:
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 - the pool publishes no event for its counters
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"not reached within {within:g} s: {what}") from None
