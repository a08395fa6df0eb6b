"""Pool fixtures: spawning workers costs about a second, so one pool serves a whole module where safe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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
    """Two workers, room for four jobs, a short timeout so hang tests stay fast."""
    return pool_settings(tmp_path_factory.mktemp("pool"), workers=2, max_in_flight=4, job_timeout=1.5)


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


async def max_loop_lag(work: asyncio.Future[object], interval: float = 0.01) -> float:
    """Largest delay beyond `interval` of a ticker running on the loop until `work` finishes."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not work.done():
        before = loop.time()
        await asyncio.sleep(interval)
        worst = max(worst, loop.time() - before - interval)
    return worst
