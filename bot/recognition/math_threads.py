"""How many threads the gallery's matrix maths may use in the bot's process: every core but one.

Why: an exact ranking at scale (whynot, or an embedding gallery before its shortlist is built) runs
`references @ query` in OpenBLAS, whose threads took both cores of this 2-core machine; the event loop then
waited 21-126 ms for a core at 500,000 rows (benchmarks/embedding_scale.py), and 7 ms with one BLAS thread.
The product is memory-bound, so one thread fewer costs little, and the loop answers Discord meanwhile.
Inference runs in onnxruntime (its own threads, or the process pool), which this leaves alone.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the platform says, else every core)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def leave_a_core_for_the_loop() -> int:
    """Cap every BLAS library loaded in this process at all cores but one (at least one); the cap, for the log."""
    from threadpoolctl import threadpool_limits

    cap = max(1, usable_cores() - 1)
    threadpool_limits(limits=cap, user_api="blas")  # kept for the process's life (not used as a context)
    log.info("matrix maths limited to %d thread(s), leaving a core for the event loop", cap)
    return cap
