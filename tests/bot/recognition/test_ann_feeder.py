"""The shortlist is kept in step by its own thread: approvals never wait for it and rank at once.

The metric is test_embedding_index's 1 - cosine "model"; the shortlist needs faiss (the `scale` extra).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from bot.recognition.analysis import RegionAnalysis
from bot.recognition.ann_feeder import NICENESS, lower_priority
from bot.recognition.embedding_index import EVERY_GUILD, EmbeddingIndex
from bot.recognition.gallery import Gallery
from bot.services.identify import rank_region
from tests.bot.recognition.test_embedding_index import DIM, TAGS, CosineMetric, clustered_gallery, top
from tests.bot.records import approved_reference, character


def stall_the_feeder(index: EmbeddingIndex) -> tuple[threading.Event, threading.Event]:
    """(reached, release): the feeder's next round waits at its start until `release` is set."""
    feeder = index._feeder
    assert feeder is not None
    reached, release, original = threading.Event(), threading.Event(), feeder._round

    def stalled(*args):
        reached.set()
        assert release.wait(30)
        return original(*args)

    feeder._round = stalled
    return reached, release


def newcomer(gallery: Gallery, reference_id: int, character_id: int, vector: np.ndarray) -> None:
    reference = approved_reference(
        reference_id, character_id, (0.5, 0.5), tagger="toy@1", embedder="cosine@1", embedding=vector
    )
    assert gallery.add(character(character_id, "newcomer"), reference)


async def test_an_approval_ranks_at_once_while_the_shortlist_has_not_indexed_it() -> None:
    pytest.importorskip("faiss")
    metric = CosineMetric()
    gallery = clustered_gallery(metric, characters=120, refs=3, ann_min_rows=50)
    index = gallery._embeddings
    assert index.wait_until_indexed(60)
    index.shortlist = 12  # a real shortlist: the newcomer is found only if rows past the shortlist are scored
    reached, release = stall_the_feeder(index)
    vector = np.random.default_rng(1).normal(size=DIM).astype(np.float32) * 10
    newcomer(gallery, 9001, 500, vector)  # returns while the feeder is held: nothing on the loop waits for it
    assert reached.wait(30)
    ann = index._ann
    assert ann is not None and ann.indexed < index._next_slot
    ranking = await rank_region(gallery, RegionAnalysis(box=None, tag_probs=TAGS, embedding=vector))
    assert ranking.candidates[0].character.id == 500
    release.set()
    assert index.wait_until_indexed(60) and ann.indexed == index._next_slot
    slot = index._slot_of[9001]
    assert slot in ann.search(vector, 5).tolist()
    assert top(gallery, vector, 1)[0][0] == 500


def test_a_removed_row_is_never_proposed_and_leaves_the_shortlist() -> None:
    pytest.importorskip("faiss")
    gallery = clustered_gallery(CosineMetric(), characters=60, refs=3, ann_min_rows=50)
    index = gallery._embeddings
    assert index.wait_until_indexed(60)
    ann = index._ann
    assert ann is not None
    vector = index.vectors_of([7])[0]
    before = len(ann)
    reached, release = stall_the_feeder(index)
    gallery.remove_character(3)  # references 7-9
    assert reached.wait(30)
    assert 3 not in [candidate for candidate, _ in top(gallery, vector, 60)]  # the shortlist still holds them
    release.set()
    assert index.wait_until_indexed(60) and len(ann) == before - 3


def test_the_mask_is_shared_until_a_change_and_never_written_behind_a_view() -> None:
    index = EmbeddingIndex(ann_min_rows=None)
    every = np.full(4, EVERY_GUILD)
    index.add_rows(np.arange(4), np.arange(4), every, np.array([EVERY_GUILD, 7, 8, EVERY_GUILD]), np.eye(4, DIM))
    first = index.view(7)
    assert index.view(7).mask is first.mask and not first.mask.flags.writeable
    assert first.mask.tolist() == [True, True, False, True]
    index.remove(3)
    second = index.view(7)
    assert second.mask is not first.mask and second.mask.tolist() == [True, True, False, False]
    assert first.mask.tolist() == [True, True, False, True]
    vectors = index._vectors
    index.add(9, 9, None, None, np.ones(DIM))  # a bulk load leaves room: no copy of every row for one approval
    assert index._vectors is vectors


def test_the_build_runs_below_the_loop_priority() -> None:
    if not hasattr(os, "getpriority"):
        pytest.skip("no per-thread priorities here")
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def lowered() -> None:
        lower_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == [min(19, own + NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own  # only the calling thread


def test_a_shortlist_of_few_characters_asks_for_more_rows_instead_of_searching_exactly() -> None:
    pytest.importorskip("faiss")
    exact_metric, ann_metric = CosineMetric(), CosineMetric()
    exact = clustered_gallery(exact_metric, characters=40, refs=20, ann_min_rows=None)
    gallery = clustered_gallery(ann_metric, characters=40, refs=20, ann_min_rows=50)
    assert gallery._embeddings.wait_until_indexed(60)
    gallery._embeddings.shortlist = 12  # 12 rows hold a character or two: fewer than the 10 an answer shows
    query = exact._embeddings.vectors_of([5])[0] + 0.01
    before = ann_metric.rows
    assert top(gallery, query, 3) == top(exact, query, 3)
    assert ann_metric.rows - before < 800  # the widened shortlist, not every row


EXIT_WHILE_INSERTING = """
import numpy as np
from bot.recognition.embedding_index import EVERY_GUILD, EmbeddingIndex
index = EmbeddingIndex(ann_min_rows=1)
count = 2000
rows = np.random.default_rng(0).standard_normal((count, 64)).astype(np.float32)
every = np.full(count, EVERY_GUILD)
index.add_rows(np.arange(count), np.arange(count) // 5, every, every, rows)
assert index.wait_until_indexed(60)
index.add(10**6, 1, None, None, rows[0])  # the feeder wakes to insert it as the interpreter exits
print("exiting while the feeder inserts", flush=True)
"""


def test_the_interpreter_exits_cleanly_while_the_feeder_inserts() -> None:
    """Before the exit hook, 5 runs of 6 ended in std::terminate (exit status 134) here."""
    pytest.importorskip("faiss")
    for _ in range(3):
        finished = subprocess.run(
            [sys.executable, "-c", EXIT_WHILE_INSERTING], capture_output=True, text=True, timeout=300
        )
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert "exiting while the feeder inserts" in finished.stdout and "terminate" not in finished.stderr


def test_a_gallery_grown_past_its_lists_gets_new_ones_and_keeps_finding_its_rows() -> None:
    pytest.importorskip("faiss")
    from bot.recognition.ann import REBUILD_GROWTH

    rng = np.random.default_rng(3)
    index = EmbeddingIndex(ann_min_rows=100)
    first = rng.standard_normal((100, DIM)).astype(np.float32)
    every = np.full(100, EVERY_GUILD)
    index.add_rows(np.arange(100), np.arange(100) // 4, every, every, first)
    assert index.wait_until_indexed(60)
    old = index._ann
    assert old is not None and old.trained_rows == 100
    grown = REBUILD_GROWTH * 100 + 50
    more = rng.standard_normal((grown, DIM)).astype(np.float32)
    every = np.full(grown, EVERY_GUILD)
    index.add_rows(np.arange(100, 100 + grown), 25 + np.arange(grown) // 4, every, every, more)
    assert index.wait_until_indexed(60)
    new = index._ann
    assert new is not None and new is not old and new.trained_rows == 100 + grown and len(new) == 100 + grown
    for row in (3, 100 + grown - 1):
        vector = first[row] if row < 100 else more[row - 100]
        assert row in new.search(vector, 5).tolist()
