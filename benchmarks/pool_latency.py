"""In-process vs pool latency, pool throughput by worker count, and whether micro-batching pays.

Run from the repository root: `.venv/bin/python -m benchmarks.pool_latency` (about two minutes on
2 cores). Every job is a 1 MP JPEG of a drawn character; the models are the palette tagger and a
project-built WD-format graph sized to ~200 ms per image (benchmarks/heavy_model.py). In-process and
pool jobs are interleaved one by one, so a noisy neighbour slows both sides alike, and the overhead is
the median of those paired differences. Throughput also reports the workers' CPU time per image (from
/proc), which contention cannot inflate: on a shared box, wall-clock scaling is capped by free cores.
Micro-batching is judged on CPU time with one intra-op thread, for the same reason. `--burst-only` runs only
the burst scenario: `--burst` identifies (default 200) from as many members at once, answered / busy / p95.
`--mixed-attack` runs only issue 13's mixed attack (benchmarks/mixed_attack.py). `--json` prints either as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.heavy_model import build_calibrated
from benchmarks.mixed_attack import as_json, mixed_attack, render
from bot.config import OnnxSettings, PoolSettings, Settings
from bot.errors import Busy
from bot.inference import InferencePool
from bot.inference.allocator import keep_freed_memory
from bot.inference.engine import build_recognition_engine
from bot.recognition.analysis import InferenceJob
from models.intake import load_image
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR, PINK_HAIR, draw_character, encode

MEGAPIXEL = (1152, 868)


def megapixel_jpegs(count: int) -> list[bytes]:
    """Distinct ~1 MP JPEG uploads."""
    designs = (BLONDE, BLUE_HAIR, PINK_HAIR, GREEN_HAIR)
    return [encode(draw_character(designs[i % 4], seed=i, size=MEGAPIXEL), "JPEG", quality=90) for i in range(count)]


def model_settings(data_dir: Path, tagger: str, *, workers: int, threads: int | None = None) -> Settings:
    """Settings for one measured configuration; `threads=None` keeps the default cores // workers."""
    return Settings(
        data_dir=data_dir,
        tagger=tagger,
        onnx=OnnxSettings(intra_op_threads=threads),
        pool=PoolSettings(workers=workers, max_in_flight=256, job_timeout=300.0),
        _env_file=None,
    )


def p50_p95(seconds: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile in ms."""
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return float(p50), float(p95)


@dataclass
class Latencies:
    """Paired per-image measurements of the two sides, in seconds."""

    local_wall: list[float] = field(default_factory=list)
    pool_wall: list[float] = field(default_factory=list)
    local_cpu: list[float] = field(default_factory=list)
    worker_cpu: list[float] = field(default_factory=list)
    parent_cpu: list[float] = field(default_factory=list)
    """What a pooled job costs the bot's own process: loop, executor threads, pickling."""


async def latency(settings: Settings, images: list[bytes], rounds: int) -> Latencies:
    """Per-image time in-process and through a one-worker pool with the same thread count, interleaved."""
    engine = build_recognition_engine(settings)
    pool = InferencePool(settings)
    await pool.start()
    measured = Latencies()
    try:
        for image in images[:2]:  # warm both sides
            engine.analyze(InferenceJob(image))
            await pool.analyze(InferenceJob(image))
        workers = pool.worker_pids()
        for _ in range(rounds):
            for image in images:
                cpu, wall = time.process_time(), time.perf_counter()
                engine.analyze(InferenceJob(image))
                measured.local_wall.append(time.perf_counter() - wall)
                measured.local_cpu.append(time.process_time() - cpu)
                cpu, worker_cpu, wall = time.process_time(), cpu_seconds(workers), time.perf_counter()
                await pool.analyze(InferenceJob(image))
                measured.pool_wall.append(time.perf_counter() - wall)
                measured.parent_cpu.append(time.process_time() - cpu)
                measured.worker_cpu.append(cpu_seconds(workers) - worker_cpu)
    finally:
        await pool.close()
    return measured


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds all threads of the given processes have run so far (/proc schedstat: ns resolution)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
                continue
    return total / 1e9


async def throughput(settings: Settings, images: list[bytes], jobs: int) -> tuple[float, float, float]:
    """Images per second with `jobs` submitted at once, worker CPU ms per image, and start-up seconds."""
    pool = InferencePool(settings)
    started = time.perf_counter()
    await pool.start()
    start_up = time.perf_counter() - started
    try:
        await asyncio.gather(*(pool.analyze(InferenceJob(image)) for image in images[: settings.pool.workers * 2]))
        pids = pool.worker_pids()
        cpu_before = cpu_seconds(pids)
        started = time.perf_counter()
        await asyncio.gather(*(pool.analyze(InferenceJob(images[i % len(images)])) for i in range(jobs)))
        elapsed = time.perf_counter() - started
        return jobs / elapsed, (cpu_seconds(pids) - cpu_before) * 1000 / jobs, start_up
    finally:
        await pool.close()


def batching(settings: Settings, images: list[bytes], batch: int, rounds: int) -> tuple[float, float]:
    """Per-image CPU ms of the tagger alone: one image per run vs `batch` per run (one intra-op thread)."""
    tagger = build_recognition_engine(settings).tagger
    decoded = [load_image(image).image for image in images[:batch]]
    tagger.predict_batch(decoded)
    single: list[float] = []
    batched: list[float] = []
    for _ in range(rounds):
        started = time.process_time()
        for picture in decoded:
            tagger.predict(picture)
        single.append((time.process_time() - started) / batch)
        started = time.process_time()
        tagger.predict_batch(decoded)
        batched.append((time.process_time() - started) / batch)
    return float(np.median(single)) * 1000, float(np.median(batched)) * 1000


async def burst(data_dir: Path, images: list[bytes], jobs: int, workers: int) -> dict[str, float]:
    """`jobs` identifies from as many members at once on a pool with the default queue settings."""
    settings = Settings(data_dir=data_dir, tagger="palette", pool=PoolSettings(workers=workers), _env_file=None)
    pool = InferencePool(settings)
    await pool.start()
    latencies: list[float] = []

    async def one(index: int) -> bool:
        started = time.perf_counter()
        try:
            await pool.analyze(InferenceJob(image=images[index % len(images)], owner=f"member-{index}"))
        except Busy:
            return False
        latencies.append(time.perf_counter() - started)
        return True

    try:
        started = time.perf_counter()
        answered = await asyncio.gather(*(one(index) for index in range(jobs)))
        wall = time.perf_counter() - started
    finally:
        await pool.close()
    p50, p95 = p50_p95(latencies) if latencies else (float("nan"), float("nan"))
    done = sum(answered)
    return {"answered": done, "busy": jobs - done, "p50_ms": p50, "p95_ms": p95, "wall_s": wall}


async def main() -> None:
    """Measure everything in one run and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the images for latency")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per configuration")
    parser.add_argument("--target-ms", type=float, default=200.0, help="per-image cost of the heavy graph")
    parser.add_argument("--burst", type=int, default=200, help="identifies submitted at once in the burst scenario")
    parser.add_argument("--burst-only", action="store_true", help="run only the burst scenario")
    parser.add_argument("--mixed-attack", action="store_true", help="run only the mixed-attack scenario")
    parser.add_argument("--json", action="store_true", help="print the burst or mixed-attack result as JSON")
    args = parser.parse_args()
    images = megapixel_jpegs(args.images)
    if args.mixed_attack:
        with tempfile.TemporaryDirectory(prefix="pool-bench-") as scratch:
            report = await mixed_attack(Path(scratch) / "data", images)
        print(json.dumps(as_json(report), indent=2) if args.json else render(report))
        return
    if args.burst_only:
        with tempfile.TemporaryDirectory(prefix="pool-bench-") as scratch:
            workers = os.cpu_count() or 1
            result = await burst(Path(scratch) / "data", images, args.burst, workers)
        if args.json:
            print(json.dumps({"jobs": args.burst, "workers": workers, **result}, indent=2))
            return
        print(f"burst of {args.burst} at once, palette, {workers} workers, default queue settings:")
        print("  " + "  ".join(f"{key} {value:.3g}" for key, value in result.items()))
        return
    # the workers raise glibc's malloc thresholds; do the same here so both sides run the same engine
    print(f"malloc thresholds raised in this process as in the workers: {keep_freed_memory()}")
    print(f"load average at start: {' '.join(f'{load:.2f}' for load in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="pool-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        heavy_dir, blocks, heavy_ms = build_calibrated(Path(scratch) / "heavy", target_ms=args.target_ms)
        models = {"palette": "palette", "heavy": str(heavy_dir)}
        print(f"1 MP JPEGs: {MEGAPIXEL[0]}x{MEGAPIXEL[1]}, {np.mean([len(i) for i in images]) / 1000:.0f} kB avg")
        print(f"heavy graph: {blocks} conv blocks, {heavy_ms:.0f} ms of CPU per session.run (1 thread)")

        print("\nLatency, one job at a time: in-process engine vs a 1-worker pool, both 1 intra-op thread")
        print(
            f"{'model':8} {'in-proc p50':>11} {'p95':>7} {'pool p50':>9} {'p95':>7} "
            f"{'overhead':>9} {'ratio':>6} {'cpu in-proc':>11} {'cpu worker':>10} {'cpu parent':>10}"
        )
        for label, tagger in models.items():
            settings = model_settings(data_dir, tagger, workers=1, threads=1)
            measured = await latency(settings, images, args.rounds)
            (l50, l95), (p50, p95) = p50_p95(measured.local_wall), p50_p95(measured.pool_wall)
            # paired statistics: each pooled job against the in-process run of the same image just before it
            overhead = float(np.median(np.subtract(measured.pool_wall, measured.local_wall))) * 1000
            ratio = float(np.median(np.divide(measured.pool_wall, measured.local_wall)))
            local_cpu, worker_cpu, parent_cpu = (
                float(np.median(samples)) * 1000
                for samples in (measured.local_cpu, measured.worker_cpu, measured.parent_cpu)
            )
            print(
                f"{label:8} {l50:9.1f}ms {l95:5.0f}ms {p50:7.1f}ms {p95:5.0f}ms {overhead:7.2f}ms {ratio:6.3f} "
                f"{local_cpu:9.1f}ms {worker_cpu:8.1f}ms {parent_cpu:8.2f}ms"
            )

        print(f"\nThroughput, all jobs submitted at once; best and median of {args.repeats} interleaved runs")
        print(
            f"{'model':8} {'workers x threads':>17} {'best img/s':>10} {'vs 1x1':>7} {'median':>7} {'vs 1x1':>7} "
            f"{'cpu/img':>9} {'start-up':>9}"
        )
        shapes = ((1, 1), (1, None), (2, None))
        for label, tagger in models.items():
            jobs = 64 if label == "palette" else 16
            runs: dict[tuple[int, int | None], list[tuple[float, float, float]]] = {shape: [] for shape in shapes}
            for _ in range(args.repeats):
                for workers, threads in shapes:
                    settings = model_settings(data_dir, tagger, workers=workers, threads=threads)
                    runs[(workers, threads)].append(await throughput(settings, images, jobs))
            best_base = max(rate for rate, _, _ in runs[shapes[0]])
            median_base = float(np.median([rate for rate, _, _ in runs[shapes[0]]]))
            for workers, threads in shapes:
                rates, cpus, starts = zip(*runs[(workers, threads)], strict=True)
                best, median = max(rates), float(np.median(rates))
                threads_each = model_settings(data_dir, tagger, workers=workers, threads=threads).intra_op_threads()
                shape = f"{workers} x {threads_each}"
                print(
                    f"{label:8} {shape:>17} {best:10.2f} {best / best_base:6.2f}x {median:7.2f} "
                    f"{median / median_base:6.2f}x {float(np.median(cpus)):7.1f}ms {float(np.median(starts)):8.2f}s"
                )

        print("\nMicro-batching, tagger alone, 1 intra-op thread (CPU time per image)")
        print(f"{'model':8} {'batch 1':>9} {'batch 4':>9} {'gain':>6}")
        for label, tagger in models.items():
            single, batched = batching(model_settings(data_dir, tagger, workers=2), images, 4, args.rounds + 2)
            print(f"{label:8} {single:7.2f}ms {batched:7.2f}ms {single / batched:5.2f}x")
    print(f"\nload average at end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
