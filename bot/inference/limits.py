"""What one pool job may cost a worker, and the worker's tie to its parent.

A hostile picture must cost at most one bounded job: the address space a job may add is capped with
RLIMIT_AS (a failed allocation raises MemoryError), its CPU time with a per-job RLIMIT_CPU soft limit
(SIGXCPU raises `JobOverBudget` between bytecodes; native code stuck past it is the parent's timeout's
job). A worker also dies with its parent: Linux's parent-death signal, and a watchdog thread for the
moment before it was set and for other systems.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import math
import os
import resource
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
WATCHDOG_INTERVAL = 1.0
"""Seconds between the watchdog's checks that the parent is still there."""


class JobOverBudget(Exception):
    """Raised inside a job that used up its CPU seconds."""


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies, and watch `getppid` as a fallback."""
    name = ctypes.util.find_library("c")
    if name is not None:
        try:
            ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: the watchdog alone
            log.debug("no prctl: relying on the parent watchdog")
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCHDOG_INTERVAL)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def address_space() -> int:
    """Bytes of virtual memory this process has mapped now."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


@dataclass
class JobLimits:
    """The per-job CPU budget of this worker (the memory cap is process-wide, set once by `install`)."""

    cpu_seconds: float | None
    _in_job: bool = field(default=False, repr=False)

    @classmethod
    def install(cls, memory_mb: int | None, cpu_seconds: float | None) -> JobLimits:
        """Cap the address space at what is mapped now plus `memory_mb`, and arm SIGXCPU for per-job budgets."""
        if memory_mb is not None:
            try:
                _set_soft_limit(resource.RLIMIT_AS, address_space() + memory_mb * 1024 * 1024)
            except (OSError, ValueError) as error:  # no /proc, or a platform without RLIMIT_AS
                log.warning("could not cap worker memory: %s", error)
        limits = cls(cpu_seconds)
        if cpu_seconds is not None:
            signal.signal(signal.SIGXCPU, limits._on_xcpu)
        return limits

    @contextlib.contextmanager
    def one_job(self) -> Iterator[None]:
        """Run one job under its CPU budget, lifting the budget afterwards."""
        if self.cpu_seconds is None:
            yield
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        hard = _set_soft_limit(resource.RLIMIT_CPU, math.ceil(usage.ru_utime + usage.ru_stime + self.cpu_seconds))
        self._in_job = True
        try:
            yield
        finally:
            self._in_job = False
            resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))

    def _on_xcpu(self, signum: int, frame: FrameType | None) -> None:
        """SIGXCPU: end the job that overran; outside a job (a late signal), ignore it."""
        if self._in_job:
            self._in_job = False
            raise JobOverBudget(f"job used more than {self.cpu_seconds} CPU seconds")


def _set_soft_limit(which: int, soft: int) -> int:
    """Lower a resource's soft limit (never above its hard limit, which stays as it is); returns the hard limit."""
    _, hard = resource.getrlimit(which)
    resource.setrlimit(which, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    return hard
