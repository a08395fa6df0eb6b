"""The loaded gallery kept out of Python's cyclic garbage collections, so none of them stalls the event loop.

Why: a process that has loaded a large gallery holds hundreds of thousands of tracked objects (character records,
their names and aliases, the owner-to-rows lists), and every full collection walks all of them while holding the
GIL. At 500,000 embedding rows (100,000 characters, benchmarks/embedding_scale.py) 386,290 objects were tracked and
one full collection took 108 ms, a loop tick missed by as much; frozen, 60 exact rankings passed with no full
collection longer than 1 ms and no tick over 5 ms (14,868 ticks). What is loaded at start-up lives as long as
the process, which is what `gc.freeze` is for. Frozen objects still die by reference counting; only cycles among
them wait, until `thaw` hands them back to the collector when the services close.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_what_is_loaded() -> int:
    """Move every object tracked now out of the collector's generations; returns how many are frozen in all."""
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("%d loaded objects kept out of garbage collections", frozen)
    return frozen


def thaw() -> None:
    """Hand the frozen objects back to the collector (their cycles can be collected again)."""
    gc.unfreeze()
