"""`waifu-bot pool`: start the configured inference pool, push probe pictures through it, report its health.

Why: a deployment check that the workers spawn, load the model and answer at the expected latency,
with the same numbers (`PoolHealth`) a running bot logs.
"""

from __future__ import annotations

import argparse
import io
import time
from typing import TYPE_CHECKING

from bot.cli.common import UsageError, print_json

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.inference import PoolHealth


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("pool", help="start the inference pool, run probe pictures, print its health")
    parser.add_argument("--jobs", type=int, default=8, help="probe pictures to analyse (default 8)")
    parser.add_argument("--json", action="store_true", help="print the health as JSON")
    parser.set_defaults(handler=run)


def probe_picture(seed: int, size: tuple[int, int] = (768, 768)) -> bytes:
    """A JPEG of coloured noise blocks: decodes and tags like a real upload, needs no files."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the pool, run the probes a few at a time, print the health, close the pool."""
    from bot.inference import InferencePool
    from bot.recognition.analysis import InferenceJob

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1.")
    if settings.pool.workers < 1:
        raise UsageError("the pool needs at least one worker: pass --workers N (N >= 1).")
    pool = InferencePool(settings)
    try:
        started = time.perf_counter()
        await pool.start()
        start_up = time.perf_counter() - started
        for seed in range(args.jobs):
            await pool.analyze(InferenceJob(image=probe_picture(seed), detect_faces=False))
        health = pool.health()
    finally:
        await pool.close()
    if args.json:
        print_json(health.as_dict() | {"start_up_s": round(start_up, 3), "tagger": settings.tagger})
    else:
        print(render_health(health, start_up=start_up))
    return 0


def render_health(health: PoolHealth, *, start_up: float | None = None) -> str:
    """The health as a few aligned lines for people."""
    latency = "no jobs yet"
    if health.latency_p50_ms is not None and health.latency_p95_ms is not None:
        latency = (
            f"p50 {health.latency_p50_ms:.1f} ms, p95 {health.latency_p95_ms:.1f} ms "
            f"(last {health.latency_window} jobs)"
        )
    lines = [
        f"workers    {health.workers_alive} alive of {health.workers}",
        f"in flight  {health.running} running, {health.waiting} waiting (capacity {health.capacity})",
        f"jobs       {health.jobs_done} done, {health.jobs_failed} failed, {health.jobs_rejected} rejected images, "
        f"{health.jobs_busy} refused busy, {health.jobs_timed_out} timed out, {health.jobs_retried} retried",
        f"restarts   {health.restarts}",
        f"latency    {latency}",
    ]
    if start_up is not None:
        lines.append(f"start-up   {start_up:.2f} s")
    return "\n".join(lines)
