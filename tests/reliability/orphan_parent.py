"""A parent for the orphan test: starts a pool, prints its workers' and resource tracker's pids, then waits."""

from __future__ import annotations

import asyncio
import json
import sys
from multiprocessing import resource_tracker
from pathlib import Path

from bot.inference import InferencePool
from tests.bot.inference.conftest import pool_settings
from tests.bot.inference.engines import magic_engine


async def serve(data_dir: Path) -> None:
    """Start two workers, say who they are, and sleep until killed."""
    pool = InferencePool(pool_settings(data_dir, workers=2), magic_engine)
    await pool.start()
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    print(json.dumps({"workers": pool.worker_pids(), "tracker": tracker}), flush=True)
    await asyncio.sleep(600)  # the parent is killed while it waits


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
