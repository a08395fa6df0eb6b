"""Analysing many pictures at once (import, eval) through any Analyzer, with bounded concurrency.

A batch survives a bad item: a picture that is refused, too slow or takes its worker down comes back as its
error, named by the caller, and the rest go on. Only a pool that is shutting down ends the batch.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence

from bot.errors import Busy, InferenceFailed, PoolClosed
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from models.errors import ImageRejected

ItemFailure = ImageRejected | InferenceFailed
"""What one picture of a batch may come back as instead of its analysis."""
BUSY_BACKOFF = (0.02, 0.5)
"""First and longest wait (seconds) before offering a picture again to an analyzer that said it is busy."""


def default_concurrency() -> int:
    """Jobs in flight: enough to keep every core (or pool worker) busy, few enough to bound memory."""
    return max(2, (os.cpu_count() or 1) * 2)


async def analyze_many(
    analyzer: Analyzer,
    images: Sequence[bytes],
    *,
    detect_faces: bool = True,
    concurrency: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> list[ImageAnalysis | ItemFailure]:
    """Analyse every picture once, in input order; a refused, slow or crashing picture yields its error instead.

    A pool admits a bounded number of jobs (`pool.max_in_flight`) and says `Busy` beyond it; a batch is not a
    user who can try later, so it waits for room and offers the picture again.
    """
    limit = asyncio.Semaphore(concurrency or default_concurrency())

    async def admitted(job: InferenceJob) -> ImageAnalysis:
        wait, longest = BUSY_BACKOFF
        while True:
            try:
                return await analyzer.analyze(job)
            except Busy:
                await asyncio.sleep(wait)
                wait = min(longest, wait * 2)

    async def one(data: bytes) -> ImageAnalysis | ItemFailure:
        async with limit:
            try:
                return await admitted(InferenceJob(image=data, detect_faces=detect_faces))
            except PoolClosed:
                raise
            except (ImageRejected, InferenceFailed) as error:
                return error
            finally:
                if on_done is not None:
                    on_done()

    return list(await asyncio.gather(*(one(data) for data in images)))
