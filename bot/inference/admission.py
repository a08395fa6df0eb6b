"""Who may join the pool's queue: a hard cap, a cap per submitter, and the wait the queue already promises.

A burst of 200 small jobs is a few seconds of worker time, so it is queued, not refused; the queue says
"busy" only when a newcomer would wait longer than `max_wait` by the recent job times, or when one
submitter already holds `per_owner` places (one user cannot fill the queue for everyone).
"""

from __future__ import annotations

from collections import Counter

from bot.errors import Busy

SMOOTHING = 0.2
"""Weight of the newest job time in the running estimate of one job's worker time."""


class Admission:
    """Counts accepted jobs by submitter and estimates the expected wait from recent job times."""

    def __init__(self, *, workers: int, capacity: int, max_wait: float, per_owner: int) -> None:
        self.workers = workers
        self.capacity = capacity
        self.max_wait = max_wait
        self.per_owner = per_owner
        self.in_flight = 0
        self._owners: Counter[str] = Counter()
        self._job_seconds: float | None = None

    def admit(self, owner: str | None) -> None:
        """Take one place in the queue for `owner`, or raise `Busy`."""
        if self.in_flight >= self.capacity:
            raise Busy()
        if owner is not None and self._owners[owner] >= self.per_owner:
            raise Busy(
                f"You already have {self.per_owner} pictures waiting for the recognizer; "
                "wait for their answers before sending more."
            )
        if self.expected_wait() > self.max_wait:
            raise Busy()
        self.in_flight += 1
        if owner is not None:
            self._owners[owner] += 1

    def release(self, owner: str | None) -> None:
        """Give back the place `admit` took."""
        self.in_flight -= 1
        if owner is not None:
            self._owners[owner] -= 1
            if self._owners[owner] <= 0:
                del self._owners[owner]

    def expected_wait(self) -> float:
        """Seconds a job accepted now would wait for a worker, from the jobs ahead of it (0 before any job ran)."""
        if self._job_seconds is None:
            return 0.0
        return (self.in_flight // self.workers) * self._job_seconds

    def record(self, seconds: float) -> None:
        """Fold one job's worker time into the estimate."""
        previous = self._job_seconds
        self._job_seconds = seconds if previous is None else previous + SMOOTHING * (seconds - previous)
