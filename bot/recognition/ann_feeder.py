"""The thread that builds an embedding index's shortlist and then keeps it in step, off the event loop.

Why: the build (training the inverted lists, then adding every row) takes minutes at a million rows, and even
one add holds the lock searches wait on; on the event loop, an approval would wait for it. Here the loop only
appends to the exact arrays and wakes this thread. Rows the shortlist has not indexed yet (slots at or past
`AnnShortlist.indexed`) are scored exactly by every query (bot/recognition/embedding_rows.py), so an approval
is visible at once. Removed rows stay in the shortlist until this thread forgets them; queries never see them
meanwhile, because every proposal is checked against the view's mask. Once the gallery has grown well past
the rows the lists were made for, this thread builds new ones while the old serve, then swaps them in.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.recognition.ann import ADD_CHUNK, BUILD_CHUNK, AnnShortlist, list_count, training_sample
from bot.recognition.ann_centres import build_centres, refresh_centres

if TYPE_CHECKING:
    from bot.recognition.embedding_index import EmbeddingIndex

log = logging.getLogger(__name__)
NICENESS = 5
"""How much lower than the event loop's the build's CPU priority is (faiss's threads, started by it, inherit it).
Only the build runs lowered: later adds hold the lock searches wait on, and a lowered holder would keep them waiting on
busy cores (rankings themselves run at the loop's priority: lowered, they slowed under others' load here)."""
IDLE_S = 5.0
"""How often an idle feeder checks whether its index still exists (it holds it weakly, so tests can drop it)."""
EXIT_WAIT_S = 30.0
"""How long the interpreter's exit waits for a feeder to finish the chunk it is inserting (seconds at most)."""
_FEEDERS: weakref.WeakSet[ShortlistFeeder] = weakref.WeakSet()


@atexit.register
def _stop_feeders() -> None:
    """Stop every feeder between two chunks before the interpreter exits.

    Why: the library builds on threads of its own; a feeder left inside a build while the process tears down
    can end it with std::terminate ("terminate called without an active exception", exit status 134, seen with
    a graph library's inserts before).
    """
    feeders = list(_FEEDERS)
    for feeder in feeders:
        feeder.stop()
    for feeder in feeders:
        feeder.join(EXIT_WAIT_S)


def lower_priority(niceness: int | None = None) -> None:
    """Lower the calling thread's CPU priority (Linux: per thread), so the event loop runs first on busy cores."""
    try:
        thread = threading.get_native_id()
        raised = NICENESS if niceness is None else niceness
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + raised)
    except (AttributeError, OSError):  # not Linux, or not allowed: the thread keeps its priority
        pass


class ShortlistFeeder:
    """Builds the shortlist over the rows alive when started, serves it, then adds newer rows and forgets dead ones."""

    def __init__(self, index: EmbeddingIndex, faiss: Any) -> None:
        self._index = weakref.ref(index)
        self._faiss = faiss
        self._wake = threading.Event()
        self._removed: list[int] = []
        """Slots removed since the last round (appended under the index's lock)."""
        self._left: set[int] = set()
        """Owners of those slots, whose centres move (under the index's lock)."""
        self.serving = threading.Event()
        """Set once the shortlist is in use (or the build failed: then `failed` is True)."""
        self.settled = threading.Event()
        """Set while the shortlist has indexed every slot handed out (tests and benchmarks wait on it)."""
        self.failed = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="embedding-shortlist", daemon=True)
        self._helper: threading.Thread | None = None
        _FEEDERS.add(self)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the chunk in hand, then end (the interpreter is exiting)."""
        self._stopping = True
        self._wake.set()

    def join(self, timeout: float) -> None:
        """Wait for the feeder (and its build helper) to end."""
        for thread in (self._helper, self._thread):
            if thread is not None and thread.is_alive():
                thread.join(timeout)

    def wake(self) -> None:
        """Rows were appended (called under the index's lock): index them soon."""
        self.settled.clear()
        self._wake.set()

    def removed(self, slot: int, owner: int) -> None:
        """A row of this owner was tombstoned (called under the index's lock): forget it soon."""
        self._removed.append(slot)
        self._left.add(owner)
        self.wake()

    def _run(self) -> None:
        ann: AnnShortlist | None = None
        try:
            index = self._index()
            ann = None if index is None else self._lowered_build(index)
            del index
            while ann is not None and not self._stopping:
                index = self._index()
                if index is None:
                    return
                self._round(index, ann)
                if ann.outgrown():  # long lists: new ones over every row, the old serving until then
                    ann = self._lowered_build(index)
                    index._ann = ann
                with index._sync:
                    if ann.indexed == index._next_slot and not self._removed:
                        self.settled.set()
                del index
                self._wake.wait(IDLE_S)
                self._wake.clear()
        except Exception:  # the gallery keeps searching exactly
            log.exception("building or updating the embedding shortlist failed; searching exactly")
            self.failed = True
            index = self._index()
            if index is not None:
                index._ann = None
            self.serving.set()
            self.settled.set()

    def _lowered_build(self, index: EmbeddingIndex) -> AnnShortlist:
        """A build (a round from nothing) in a helper thread of lowered priority; its failure is raised here."""
        outcome: list = []

        def build() -> None:
            lower_priority()
            try:
                outcome.append(self._round(index, None))
            except Exception as error:  # handed to the feeder thread, which logs it
                outcome.append(error)

        helper = self._helper = threading.Thread(target=build, name="embedding-shortlist-build", daemon=True)
        helper.start()
        helper.join()
        if isinstance(outcome[0], Exception):
            raise outcome[0]
        return outcome[0]

    def _round(self, index: EmbeddingIndex, ann: AnnShortlist | None) -> AnnShortlist:
        """Insert every slot handed out since the last round (alive ones), then forget the removed."""
        with index._sync:  # the arrays as one consistent set; rows below `high` are never written again
            high, row_of_slot, vectors, alive = index._next_slot, index._row_of_slot, index._vectors, index._alive
            owners = index._owners
            removed, self._removed = self._removed, []
            left, self._left = self._left, set()
        low = ann.indexed if ann is not None else 0
        slots = np.arange(low, high)
        rows = row_of_slot[low:high]
        keep = rows >= 0
        keep[keep] = alive[rows[keep]]
        step = ADD_CHUNK if ann is not None else BUILD_CHUNK  # the build: nobody searches it yet
        slots, rows = slots[keep], rows[keep]
        if ann is None:
            ann = AnnShortlist(self._faiss, vectors.shape[1], len(rows))
            ann.train(vectors, training_sample(rows, list_count(len(rows))))
        for start in range(0, len(slots), step):
            if self._stopping:
                break
            chunk = slots[start : start + step]
            ann.add(chunk, vectors[rows[start : start + step]])
            ann.indexed = int(chunk[-1]) + 1  # queries score fewer rows exactly as the round goes
        if self._stopping:
            return ann
        ann.indexed = high
        ann.remove(np.asarray([slot for slot in removed if slot < high], dtype=np.int64))
        if ann.centres is None:
            ann.centres = build_centres(self._faiss, owners, vectors, rows)
        else:
            self._move_centres(index, ann.centres, left.union(owners[rows].tolist()))
        if not self.serving.is_set():
            index._ann = ann
            self.serving.set()
        return ann

    def _move_centres(self, index: EmbeddingIndex, centres: AnnShortlist, touched: set[int]) -> None:
        """Recompute the centres of the owners whose rows changed this round, from their live rows now."""
        if not touched:
            return
        with index._sync:  # the live rows of each, and the arrays they are in, as one consistent set
            vectors, row_of_slot, alive = index._vectors, index._row_of_slot, index._alive
            live: dict[int, np.ndarray] = {}
            for owner in touched:
                rows = row_of_slot[np.asarray(index._slots_of.get(owner, ()), dtype=np.int64)]
                rows = rows[rows >= 0]
                live[owner] = rows[alive[rows]]
        refresh_centres(centres, live, vectors)
