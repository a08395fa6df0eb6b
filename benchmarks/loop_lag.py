"""The event loop's delays while rankings run, against idle windows of the same length, in one process.

Why windows, interleaved: on these 2 shared vCPUs the loop misses its 1 ms tick by 10-45 ms now and then with
nothing running at all (the host's own stalls), so one long phase's single worst tick says more about the machine
than about the rankings. Each round runs every kind of window once, in a shuffled order (rankings as the bot runs
them, the same with other settings, and an idle window as long as the round's ranking window), and each window
reports its worst tick, its 99th-percentile tick and its ticks over 5 ms a minute. For the late ticks (over 5 ms),
the loop thread's own scheduler counters (Linux `/proc/thread-self/schedstat`) split the delay into time it
waited on the run queue for a core (what other threads of this process or machine cost it) and time it ran.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LATE_S = 0.005
"""A tick later than this counts as late (the issue's bound on the loop's lag)."""
SCHEDSTAT = Path("/proc/thread-self/schedstat")


def _scheduler_ns() -> tuple[int, int]:
    """(ns this thread ran, ns it waited on a run queue); zeros where the kernel does not say."""
    try:
        ran, waited, _ = SCHEDSTAT.read_text().split()
    except (OSError, ValueError):
        return 0, 0
    return int(ran), int(waited)


@dataclass
class Ticks:
    """One window's ticks: (lag s, ran s, waited s) each, from a task that sleeps 1 ms and notes how late it woke."""

    ticks: list[tuple[float, float, float]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        lags = np.array([lag for lag, _, _ in self.ticks] or [0.0]) * 1000
        late = [tick for tick in self.ticks if tick[0] > LATE_S]
        late_s = sum(lag for lag, _, _ in late)
        return {
            "worst_ms": round(float(lags.max()), 1),
            "p99_ms": round(float(np.percentile(lags, 99)), 2),
            "late_per_min": round(len(late) / max(self.seconds, 1e-9) * 60, 1),
            "late_waiting_share": round(sum(w for _, _, w in late) / late_s, 2) if late_s else 0.0,
        }


async def ticking(work: Awaitable[object]) -> Ticks:
    """Run `work` with the ticker beside it; the ticks of its whole duration."""
    found, done = Ticks(), asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            ran, waited = _scheduler_ns()
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            after = time.perf_counter()
            ran_after, waited_after = _scheduler_ns()
            found.ticks.append((after - before - 0.001, (ran_after - ran) / 1e9, (waited_after - waited) / 1e9))

    ticker = asyncio.create_task(tick())
    start = time.perf_counter()
    try:
        await work
    finally:
        found.seconds = time.perf_counter() - start
        done.set()
        await ticker
    return found


Window = Callable[[float], Awaitable[object]]
"""A window's work, given the length of the first kind's last window (a window of timed length runs that long)."""


async def interleaved(
    kinds: dict[str, Window], rounds: int, *, seed: int = 0, length: float = 1.0
) -> dict[str, dict[str, float]]:
    """Every kind once a round plus "idle", shuffled per round; per kind, the medians over its windows and the worst.

    The first kind sets the windows' length: the others (and idle) are given its last duration (`length` before).
    """
    names = [*kinds, "idle"]
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names[1:]
        random.Random(seed + round_number).shuffle(order)
        order.insert(random.Random(-seed - round_number).randrange(len(order) + 1), names[0])
        for name in order:
            work = asyncio.sleep(length) if name == "idle" else kinds[name](length)
            ticks = await ticking(work)
            if name == names[0]:
                length = ticks.seconds
            seen[name].append(ticks.summary())
    return {name: _medians(windows) for name, windows in seen.items()}


def _medians(windows: list[dict[str, float]]) -> dict[str, float]:
    out = {key: round(statistics.median(w[key] for w in windows), 2) for key in windows[0]}
    out["worst_of_all_ms"] = max(w["worst_ms"] for w in windows)
    out["windows"] = len(windows)
    return out


def lag_lines(lag: dict[str, dict[str, float]]) -> list[str]:
    """The printed table of `interleaved`'s result."""
    lines = [f"{'window':<16} {'worst (median)':>14} {'worst of all':>12} {'p99':>6} {'late/min':>8} {'waiting':>7}"]
    for name, row in lag.items():
        lines.append(
            f"{name:<16} {row['worst_ms']:>11.1f} ms {row['worst_of_all_ms']:>9.1f} ms {row['p99_ms']:>6.2f}"
            f" {row['late_per_min']:>8.1f} {row['late_waiting_share']:>7.2f}"
        )
    return lines
