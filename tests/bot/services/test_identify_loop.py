"""identify never runs the CCIP metric on the event loop: with a slow metric graph, the loop keeps ticking.

The metric is a real ONNX graph with the CCIP metrics signature, made slow by MatMuls whose result is
multiplied by zero. Every bound is relative to the ranking's own runtime on this machine, so a busy CI
box only makes the ranking slower, which makes the test easier, not flakier.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from bot.recognition.analysis import ImageAnalysis, RegionAnalysis
from bot.recognition.block_index import BlockIndex
from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.gallery import Gallery
from bot.recognition.ranking import Ranking
from bot.recognition.vocabulary import Vocabulary
from bot.services import identify as identify_module
from bot.services.identify import IdentifyService
from bot.services.results import IdentifyResult
from models.ccip import CcipMetric, load_ccip_metric
from models.sessions import SessionConfig
from tests.bot.records import approved_reference, character
from tests.models.hub_graphs import CCIP_DIM, slow_cosine_metrics_graph

TAGGER = "toy@1"
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.array([0, 1]), names=("red_hair", "blue_hair"))
QUERY = np.eye(CCIP_DIM, dtype=np.float32)[0]
T = TypeVar("T")
TICK = 0.002
"""How long the ticker sleeps between wakeups; a free loop wakes it about this often."""


@pytest.fixture(scope="module")
def slow_metric(tmp_path_factory: pytest.TempPathFactory) -> CcipMetric:
    folder = tmp_path_factory.mktemp("slow-ccip")
    slow_cosine_metrics_graph(folder / "model_metrics.onnx", repeats=6)
    (folder / "metrics.json").write_text(json.dumps({"threshold": 0.178}))
    return load_ccip_metric(Path(folder), name="ccip", version="slow", session_config=SessionConfig())


def slow_gallery(metric: CcipMetric) -> Gallery:
    """Ada's reference is the query itself, Bo's is orthogonal to it: CCIP says Ada at 0, Bo at 1."""
    gallery = Gallery(VOCABULARY, metric=metric)
    for character_id, name, axis in ((1, "Ada", 0), (2, "Bo", 1)):
        embedding = np.eye(CCIP_DIM, dtype=np.float32)[axis]
        reference = approved_reference(
            character_id, character_id, (0.5, 0.5), tagger=TAGGER, embedder=metric.identity, embedding=embedding
        )
        assert gallery.add(character(character_id, name), reference)
    return gallery


def query_analysis(metric: CcipMetric) -> ImageAnalysis:
    whole = RegionAnalysis(box=None, tag_probs=np.array([0.5, 0.5], dtype=np.float32), embedding=QUERY)
    return ImageAnalysis(tagger=TAGGER, embedder=metric.identity, whole=whole)


class LoopLag:
    """A ticker coroutine: the largest gap between its wakeups until told to stop, and how often it woke."""

    def __init__(self) -> None:
        self.largest = 0.0
        self.ticks = 0

    async def watch(self, stop: asyncio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.largest = max(self.largest, now - last)
            self.ticks += 1
            last = now


async def measured(work: Awaitable[T]) -> tuple[T, float, LoopLag]:
    """Await `work` with the ticker already running; (its result, its runtime, the loop's lag meanwhile)."""
    lag, stop = LoopLag(), asyncio.Event()
    watcher = asyncio.create_task(lag.watch(stop))
    await asyncio.sleep(TICK)  # the ticker is asleep before the work starts, so it sees a block from the start
    begin = time.perf_counter()
    try:
        result = await work
    finally:
        runtime = time.perf_counter() - begin
        stop.set()
    await watcher
    return result, runtime, lag


def test_the_slow_graph_still_answers_one_minus_cosine(slow_metric: CcipMetric) -> None:
    references = np.eye(CCIP_DIM, dtype=np.float32)[[0, 1]]
    np.testing.assert_allclose(slow_metric.differences_to(QUERY, references), [0.0, 1.0], atol=1e-5)


async def test_the_ticker_sees_a_ranking_that_blocks_the_loop(slow_metric: CcipMetric) -> None:
    """The instrument works: ranking on the loop (the old way) shows up as a gap as long as the ranking."""
    gallery = slow_gallery(slow_metric)

    async def on_the_loop() -> Ranking:
        return gallery.rank(np.array([0.5, 0.5], dtype=np.float32), embedding=QUERY)

    _ranking, runtime, lag = await measured(on_the_loop())
    assert lag.largest >= 0.9 * runtime


async def test_identify_keeps_the_event_loop_responsive_while_the_metric_runs(slow_metric: CcipMetric) -> None:
    service = IdentifyService(analyzer=None, gallery=slow_gallery(slow_metric))  # type: ignore[arg-type]
    started, progressed = asyncio.Event(), asyncio.Event()
    finished = False
    in_flight_when_set: list[bool] = []

    async def identify() -> IdentifyResult:
        nonlocal finished
        started.set()
        try:
            return await service.identify_analysis(query_analysis(slow_metric))
        finally:
            finished = True

    async def another_task() -> None:
        """Another coroutine gets its turns while identify is still waiting on the metric."""
        await started.wait()
        await asyncio.sleep(TICK)
        in_flight_when_set.append(not finished)
        progressed.set()

    helper = asyncio.create_task(another_task())
    result, runtime, lag = await measured(identify())
    await helper
    print(f"identify, slow metric: {runtime:.3f} s; largest loop gap {lag.largest * 1000:.1f} ms, {lag.ticks} ticks")
    assert progressed.is_set() and in_flight_when_set == [True]
    assert lag.ticks >= 5
    assert lag.largest < runtime / 3
    (region,) = result.regions
    assert [match.character for match in region.matches] == ["Ada", "Bo"]
    assert region.matches[0].distance == pytest.approx(0.0, abs=1e-5)


async def test_the_block_metric_is_refitted_in_a_thread_after_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """An approval makes the fitted metric stale; the next ranking fits it in a worker thread, not on the loop."""
    vocabulary = Vocabulary(tagger="toy@1", indices=np.arange(4), names=("a", "b", "c", "d"))
    gallery = Gallery(vocabulary, block_weights={TAGS_BLOCK: 1.0})
    rng = np.random.default_rng(3)
    for cid in (1, 2):
        for i in range(3):
            tags = list(0.3 * cid + rng.normal(0, 0.05, 4))
            gallery.add(character(cid, f"C{cid}"), approved_reference(10 * cid + i, cid, tags, tagger="toy@1"))
    threads: list[int] = []
    real_prepare = BlockIndex.prepare_refit

    def recording_prepare(index: BlockIndex):
        refit = real_prepare(index)

        def recorded():
            threads.append(threading.get_ident())
            return refit()

        return recorded

    monkeypatch.setattr(BlockIndex, "prepare_refit", recording_prepare)
    assert gallery.blocks is not None and gallery.blocks.stale
    region = RegionAnalysis(box=None, tag_probs=np.full(4, 0.6, dtype=np.float32))
    ranking = await identify_module.rank_region(gallery, region)
    assert ranking.candidates[0].character.name == "C2"
    assert threads and threading.get_ident() not in threads
    assert not gallery.blocks.stale  # installed: the snapshot did not fit again on the loop
