"""A tiny long-running process for the SIGTERM test: a pool, one slow job, and the stop-signal handlers."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.inference import InferencePool, install_stop_signals
from bot.recognition.analysis import ImageAnalysis
from tests.bot.inference.conftest import pool_settings
from tests.bot.inference.engines import magic_engine, slow_job
from tests.drawing import BLONDE, draw_character, encode


async def serve(data_dir: Path) -> None:
    """Run until SIGTERM/SIGINT, then drain the pool and print what the in-flight job returned."""
    pool = InferencePool(pool_settings(data_dir, workers=1, shutdown_deadline=20.0), magic_engine)
    await pool.start()
    stop = asyncio.Event()
    uninstall = install_stop_signals(stop)
    job: asyncio.Future[ImageAnalysis] = asyncio.ensure_future(
        pool.analyze(slow_job(1.5, encode(draw_character(BLONDE))))
    )
    print("ready", flush=True)
    await stop.wait()
    await pool.close()
    uninstall()
    print(f"drained {job.result().tagger} accepting={pool.health().accepting}", flush=True)


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
