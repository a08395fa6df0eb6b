"""Analysing many pictures at once (import, eval) through any Analyzer, with bounded concurrency.

A batch survives a bad item: a picture that is refused, too slow or takes its worker down comes back as its
error, named by the caller, and the rest go on. Only a pool that is shutting down ends the batch. Files are read
as they get their turn (`analyze_files`), so memory holds a window of pictures, not a folder.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from bot.errors import Busy, InferenceFailed, PoolClosed, UsageError
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from models.errors import ImageRejected
from models.intake import check_size

ItemFailure = ImageRejected | InferenceFailed | UsageError
"""What one picture of a batch may come back as instead of its analysis (UsageError: a file that cannot be read)."""
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
    mirror: bool = False,
    largest_face: bool = False,
) -> list[ImageAnalysis | ItemFailure]:
    """Analyse every picture once, in input order; a refused, slow or crashing picture yields its error instead.

    A pool admits a bounded number of jobs (`pool.max_in_flight`) and says `Busy` beyond it; a batch is not a
    user who can try later, so it waits for room and offers the picture again.
    """
    job = InferenceJob(image=b"", detect_faces=detect_faces, mirror=mirror, largest_face=largest_face)
    return await _analyze_each(analyzer, [_given(data) for data in images], job, concurrency, on_done)


async def analyze_files(
    analyzer: Analyzer,
    paths: Sequence[Path],
    *,
    max_bytes: int | None,
    detect_faces: bool = True,
    concurrency: int | None = None,
    on_done: Callable[[], None] | None = None,
    mirror: bool = False,
    largest_face: bool = False,
) -> list[ImageAnalysis | ItemFailure]:
    """Like `analyze_many`, but each file is read only when a place in the window is free, so a folder of any
    size holds at most `concurrency` files' bytes; an unreadable or oversized file yields its error."""
    return await _analyze_each(
        analyzer,
        [functools.partial(read_capped, path, max_bytes) for path in paths],
        InferenceJob(image=b"", detect_faces=detect_faces, mirror=mirror, largest_face=largest_face),
        concurrency,
        on_done,
    )


def read_capped(path: Path, max_bytes: int | None) -> bytes:
    """A file's bytes, never more than `max_bytes` (the size is checked before reading); `UsageError` if unreadable."""
    try:
        check_size(path.stat().st_size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as error:
        raise UsageError(f"cannot be read ({error.strerror or error}).") from None
    check_size(len(data), max_bytes)
    return data


def _given(data: bytes) -> Callable[[], bytes]:
    return lambda: data


async def _analyze_each(
    analyzer: Analyzer,
    sources: Sequence[Callable[[], bytes]],
    template: InferenceJob,
    concurrency: int | None,
    on_done: Callable[[], None] | None,
) -> list[ImageAnalysis | ItemFailure]:
    """Read (off the loop) and analyse each source inside a window of `concurrency` places, in input order.

    Every job is `template` (face detection, mirrored views) with the source's bytes.
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

    async def one(source: Callable[[], bytes]) -> ImageAnalysis | ItemFailure:
        async with limit:
            try:
                data = await asyncio.to_thread(source)
                return await admitted(replace(template, image=data))
            except PoolClosed:
                raise
            except (ImageRejected, InferenceFailed, UsageError) as error:
                return error
            finally:
                if on_done is not None:
                    on_done()

    return list(await asyncio.gather(*(one(source) for source in sources)))
