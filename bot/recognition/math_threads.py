"""How many threads the maths in the bot's own process may use: every core but one, which stays the event loop's.

Why: an exact ranking at scale (whynot, eval, or an embedding gallery before its shortlist is built) runs the
metric over every row in a worker thread. With the metric's products on multi-threaded OpenBLAS, its helper
thread spun on the second core of this 2-core machine, and the loop waited for a core. In interleaved windows
of five exact rankings at 300,000 rows (a prototype of benchmarks/loop_lag.py's windows, 6 rounds), the loop's
p99 delay was 1.2-3.7 ms and 19-40 ticks a minute came over 5 ms, almost all of it spent waiting on the run
queue; with one BLAS thread, p99 0.5-1.1 ms and no tick over 5 ms in 5 of 6 windows, like the idle windows
beside them, and the rankings took as long (they are memory-bound). The same holds for the CCIP metrics model
in this process, so its ONNX session gets as many threads. Inference proper runs in the pool's workers.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from models.sessions import SessionConfig

log = logging.getLogger(__name__)


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the platform says, else every core)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def cores_beside_the_loop() -> int:
    """Every usable core but one, and at least one."""
    return max(1, usable_cores() - 1)


def leave_a_core_for_the_loop() -> int:
    """Cap every BLAS library loaded in this process at all cores but one (at least one); the cap, for the log."""
    from threadpoolctl import threadpool_limits

    cap = cores_beside_the_loop()
    threadpool_limits(limits=cap, user_api="blas")  # kept for the process's life (not used as a context)
    log.info("matrix maths limited to %d thread(s), leaving a core for the event loop", cap)
    return cap


def beside_the_loop(config: SessionConfig) -> SessionConfig:
    """The session config for a model run in the bot's own process (the CCIP metric): at most all cores but one."""
    return replace(config, intra_op_threads=max(1, min(config.intra_op_threads, cores_beside_the_loop())))
