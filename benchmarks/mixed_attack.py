"""Issue 13 item 3, measured: hostile pictures from a few members, then ordinary members at a steady rate.

Run from the repository root: `.venv/bin/python -m benchmarks.pool_latency --mixed-attack [--json]` (about a
minute). The real pool with the product's default settings and the palette tagger takes, at once, two 1 x 40M
strip PNGs and two TIFFs of 200,000 image directories from four attackers (built by tests/reliability/hostile.py),
then one 1 MP JPEG a second from each of 40 ordinary members. Reported: the ordinary members' answered / busy /
p50 / p95, what each hostile picture came to and when, the largest event-loop lag (what makes discord.py log
"Can't keep up, websocket is N s behind") and the peak RSS of the whole process tree (this process and its
workers, sampled every 50 ms in a thread, so sampling never delays the loop).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bot.config import PoolSettings, Settings
from bot.errors import Busy, UserFacingError
from bot.inference import InferencePool
from bot.recognition.analysis import InferenceJob
from tests.reliability.hostile import many_ifd_tiff, strip_png

HOSTILE = {
    "strip 1x40M": lambda: strip_png(1, 40_000_000),
    "strip 40Mx1": lambda: strip_png(40_000_000, 1),
    "TIFF 200k IFDs (a)": lambda: many_ifd_tiff(200_000),
    "TIFF 200k IFDs (b)": lambda: many_ifd_tiff(200_000),
}


@dataclass
class AttackReport:
    """What the ordinary members saw, what the hostile pictures cost, and what the bot's process tree used."""

    workers: int
    ordinary: int
    answered: int
    busy: int
    failed: int
    p50_s: float
    p95_s: float
    max_s: float
    max_loop_lag_ms: float
    peak_tree_rss_mb: float
    hostile: dict[str, str] = field(default_factory=dict)


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and every descendant, in MB (/proc: children found by their parent pid)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:  # a process that just ended
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0"))
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree = {root}
    grown = True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return sum(rss.get(pid, 0) for pid in tree) / 1024


class PeakSampler(threading.Thread):
    """Samples the tree's RSS until stopped, off the event loop."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.interval = interval
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        """Keep the largest sample."""
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss_mb(os.getpid()))
            self.stopped.wait(self.interval)


async def loop_lag(done: asyncio.Event, interval: float = 0.01) -> float:
    """Largest delay (ms) beyond `interval` of a ticker on the loop until `done` is set."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not done.is_set():
        before = loop.time()
        await asyncio.sleep(interval)
        worst = max(worst, loop.time() - before - interval)
    return worst * 1000


async def mixed_attack(
    data_dir: Path, images: Sequence[bytes], *, ordinary: int = 40, rate: float = 1.0
) -> AttackReport:
    """Four hostile pictures at once from four members, then `ordinary` members at `rate` a second."""
    settings = Settings(data_dir=data_dir, tagger="palette", pool=PoolSettings(), _env_file=None)
    hostile = {label: build() for label, build in HOSTILE.items()}
    pool = InferencePool(settings)
    await pool.start()
    sampler = PeakSampler()
    sampler.start()
    finished = asyncio.Event()
    lag = asyncio.ensure_future(loop_lag(finished))
    loop = asyncio.get_running_loop()
    began = loop.time()
    outcomes: dict[str, str] = {}
    latencies: list[float] = []
    refused: list[str] = []

    async def attacker(index: int, label: str) -> None:
        try:
            await pool.analyze(InferenceJob(image=hostile[label], owner=f"attacker-{index}"))
            outcome = "analysed"
        except UserFacingError as error:
            outcome = f"{type(error).__name__}: {getattr(error, 'reason', error.user_message)}"
        outcomes[label] = f"{outcome} after {loop.time() - began:.2f} s"

    async def member(index: int) -> None:
        await asyncio.sleep(max(0.0, began + index / rate - loop.time()))
        started = loop.time()
        try:
            await pool.analyze(InferenceJob(image=images[index % len(images)], owner=f"member-{index}"))
        except Busy:
            refused.append("busy")
            return
        except UserFacingError as error:
            refused.append(type(error).__name__)
            return
        latencies.append(loop.time() - started)

    try:
        await asyncio.gather(
            *(attacker(index, label) for index, label in enumerate(hostile)),
            *(member(index) for index in range(ordinary)),
        )
    finally:
        finished.set()
        worst_lag = await lag
        sampler.stopped.set()
        sampler.join()
        await pool.close()
    p50, p95 = (float(value) for value in np.percentile(latencies, [50, 95])) if latencies else (float("nan"),) * 2
    return AttackReport(
        workers=settings.pool.workers,
        ordinary=ordinary,
        answered=len(latencies),
        busy=refused.count("busy"),
        failed=len(refused) - refused.count("busy"),
        p50_s=p50,
        p95_s=p95,
        max_s=max(latencies, default=float("nan")),
        max_loop_lag_ms=worst_lag,
        peak_tree_rss_mb=sampler.peak,
        hostile=outcomes,
    )


def render(report: AttackReport) -> str:
    """The printed table."""
    lines = [
        f"mixed attack: 4 hostile pictures, then {report.ordinary} members at 1/s; palette, {report.workers} workers,"
        " default pool settings",
        f"{'answered':>8} {'busy':>5} {'failed':>6} {'p50':>7} {'p95':>7} {'max':>7} {'loop lag':>9} {'tree RSS':>9}",
        f"{report.answered:8d} {report.busy:5d} {report.failed:6d} {report.p50_s:6.2f}s {report.p95_s:6.2f}s "
        f"{report.max_s:6.2f}s {report.max_loop_lag_ms:7.0f}ms {report.peak_tree_rss_mb:7.0f}MB",
        "hostile pictures:",
    ]
    lines += [f"  {label:20} {outcome}" for label, outcome in report.hostile.items()]
    return "\n".join(lines)


def as_json(report: AttackReport) -> dict[str, object]:
    """The report as JSON-ready data."""
    return asdict(report)
