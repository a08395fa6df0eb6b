"""Analysing many pictures at once (import, eval) through any Analyzer, with bounded concurrency."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence

from bot.analysis import Analyzer, ImageAnalysis, InferenceJob
from models.errors import ImageRejected


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
) -> list[ImageAnalysis | ImageRejected]:
    """Analyse every picture once, in input order; a rejected picture yields its error instead of failing all."""
    limit = asyncio.Semaphore(concurrency or default_concurrency())

    async def one(data: bytes) -> ImageAnalysis | ImageRejected:
        async with limit:
            try:
                return await analyzer.analyze(InferenceJob(image=data, detect_faces=detect_faces))
            except ImageRejected as error:
                return error
            finally:
                if on_done is not None:
                    on_done()

    return list(await asyncio.gather(*(one(data) for data in images)))
