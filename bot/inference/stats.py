"""Counters and a recent-latency window, so `waifu-bot pool` can say how the pool is doing right now."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

LATENCY_WINDOW = 256
"""Jobs the p50/p95 are computed over: recent enough to show a slowdown, large enough to be stable."""


@dataclass(frozen=True)
class PoolHealth:
    """A snapshot of the pool for operators; latencies are end to end (accept to result), in ms."""

    workers: int
    workers_alive: int
    accepting: bool
    running: int
    waiting: int
    capacity: int
    jobs_done: int
    jobs_failed: int
    jobs_rejected: int
    jobs_busy: int
    jobs_timed_out: int
    jobs_retried: int
    restarts: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_window: int

    @property
    def in_flight(self) -> int:
        """Jobs accepted and not finished: the number `capacity` bounds."""
        return self.running + self.waiting

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output and logs."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {"in_flight": self.in_flight}


class PoolCounters:
    """Mutable tallies owned by the pool (event-loop thread only, so no lock)."""

    def __init__(self, window: int = LATENCY_WINDOW) -> None:
        self.done = 0
        self.failed = 0
        self.rejected = 0
        self.busy = 0
        self.timed_out = 0
        self.retried = 0
        self.restarts = 0
        self._latencies: deque[float] = deque(maxlen=window)

    def record_latency(self, seconds: float) -> None:
        """Remember how long one finished job took, dropping the oldest beyond the window."""
        self._latencies.append(seconds)

    def percentiles(self) -> tuple[float | None, float | None]:
        """p50 and p95 of the recent window in ms, or None before any job finished."""
        if not self._latencies:
            return None, None
        p50, p95 = np.percentile(np.fromiter(self._latencies, dtype=np.float64), [50, 95])
        return float(p50) * 1000.0, float(p95) * 1000.0

    @property
    def window_size(self) -> int:
        """How many latencies the percentiles are over."""
        return len(self._latencies)
