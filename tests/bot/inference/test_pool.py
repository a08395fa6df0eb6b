"""The pool against the real engine: same numbers as in-process, and it survives crashes, hangs and floods."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.errors import Busy, ImageRejected, InferenceFailed
from bot.inference import InferencePool
from bot.inference.engine import RecognitionEngine
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from tests.bot.inference.conftest import max_loop_lag, until
from tests.bot.inference.engines import CRASH, HANG, gated_job, slow_job
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR, PINK_HAIR, draw_character, encode

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_LOOP_CPU = 0.25
"""CPU seconds the loop's thread may spend without a turn for others while workers crash, hang or restart."""
MAX_LOOP_WAIT = 1.0
"""Wall seconds the loop may go without a turn: below a worker's start, the job timeout and a hang, which a
blocking wait on one would show; far above what a loaded machine's scheduling adds."""


def picture(seed: int = 0, fmt: str = "PNG") -> bytes:
    """A drawn character encoded as an upload would be."""
    design = (BLONDE, BLUE_HAIR, PINK_HAIR, GREEN_HAIR)[seed % 4]
    return encode(draw_character(design, seed=seed, size=(320 + 16 * seed, 300)), fmt)


def assert_same_analysis(pooled: ImageAnalysis, local: ImageAnalysis) -> None:
    """Two analyses of one image agree on every number the services use."""
    assert pooled.tagger == local.tagger
    assert (pooled.width, pooled.height, pooled.frame_count) == (local.width, local.height, local.frame_count)
    assert pooled.phash == local.phash
    assert pooled.rating == local.rating
    assert pooled.notes == local.notes
    assert pooled.whole.tag_probs.dtype == np.float32
    np.testing.assert_allclose(pooled.whole.tag_probs, local.whole.tag_probs, rtol=1e-5, atol=1e-6)


async def test_results_through_the_pool_equal_in_process_results(
    pool: InferencePool, local_engine: RecognitionEngine
) -> None:
    images = [picture(seed) for seed in range(4)] + [picture(5, "JPEG"), picture(6, "WEBP")]
    pooled = []
    for start in range(0, len(images), 3):  # the pool takes four at a time
        chunk = images[start : start + 3]
        pooled += await asyncio.gather(*(pool.analyze(InferenceJob(image)) for image in chunk))
    for image, analysis in zip(images, pooled, strict=True):
        assert_same_analysis(analysis, local_engine.analyze(InferenceJob(image)))
    # different pictures really gave different numbers (the comparison above is not vacuous)
    assert not np.allclose(pooled[0].whole.tag_probs, pooled[1].whole.tag_probs)


async def test_health_reports_live_workers_and_latency(pool: InferencePool) -> None:
    await pool.analyze(InferenceJob(picture(1)))
    health = pool.health()
    assert health.workers == 2
    assert health.workers_alive == 2
    assert health.accepting
    assert health.in_flight == 0
    assert health.jobs_done >= 1
    assert health.latency_p50_ms is not None
    assert 0 < health.latency_p50_ms <= health.latency_p95_ms
    assert health.as_dict()["in_flight"] == 0


async def test_a_worker_crashing_mid_job_fails_only_that_job_and_the_pool_recovers(
    pool: InferencePool, local_engine: RecognitionEngine
) -> None:
    before = pool.health()
    innocent = picture(2)
    crash = asyncio.ensure_future(pool.analyze(InferenceJob(CRASH)))
    neighbour = asyncio.ensure_future(pool.analyze(slow_job(0.3, innocent)))
    lag = await max_loop_lag(asyncio.gather(crash, neighbour, return_exceptions=True))

    with pytest.raises(InferenceFailed) as caught:
        crash.result()
    assert "failed twice" in caught.value.user_message  # a service failure, not the picture's fault
    # the job running beside the crash was broken with it, retried on a fresh pool, and succeeded
    assert_same_analysis(neighbour.result(), local_engine.analyze(InferenceJob(innocent)))
    after = pool.health()
    assert after.restarts >= before.restarts + 2  # once per crash of the poison job
    assert after.jobs_retried >= before.jobs_retried + 2
    assert after.jobs_failed == before.jobs_failed + 1
    assert lag.cpu < MAX_LOOP_CPU and lag.wall < MAX_LOOP_WAIT, lag
    # later jobs succeed on the rebuilt pool
    later = await asyncio.gather(*(pool.analyze(InferenceJob(picture(seed))) for seed in range(3)))
    assert [analysis.tagger for analysis in later] == [local_engine.tagger_identity] * 3
    assert pool.health().workers_alive == 2


async def test_a_worker_killed_while_idle_is_replaced_on_the_next_job(pool: InferencePool) -> None:
    await pool.analyze(InferenceJob(picture(0)))
    victim = pool.worker_pids()[0]
    restarts = pool.health().restarts
    os.kill(victim, signal.SIGKILL)
    await until(lambda: victim not in pool.worker_pids(), what="the killed worker is dead")
    analysis = await pool.analyze(InferenceJob(picture(3)))
    assert analysis.whole.tag_probs.size > 0
    assert pool.health().restarts == restarts + 1
    assert victim not in pool.worker_pids()


async def test_the_bounded_queue_rejects_at_capacity_and_recovers(pool: InferencePool, tmp_path: Path) -> None:
    busy_before = pool.health().jobs_busy
    gate = tmp_path / "open"  # the four jobs hold their places until the test has seen the queue full
    held = [asyncio.ensure_future(pool.analyze(gated_job(gate, picture(seed)))) for seed in range(4)]
    await until(lambda: pool.health().running == 2, what="two of the four jobs reach the workers")
    health = pool.health()
    assert health.in_flight == 4
    assert health.running == 2 and health.waiting == 2
    with pytest.raises(Busy):
        await pool.analyze(InferenceJob(picture(0)))
    assert pool.health().jobs_busy == busy_before + 1
    gate.touch()
    await asyncio.gather(*held)
    assert pool.health().in_flight == 0
    assert (await pool.analyze(InferenceJob(picture(0)))).whole.tag_probs.size > 0


async def test_a_decompression_bomb_is_rejected_in_the_worker(pool: InferencePool) -> None:
    bomb = encode(Image.new("1", (10_000, 5_000)), "PNG")  # 50 MP declared, a few KB on the wire
    assert len(bomb) < 100_000
    pids = pool.worker_pids()
    rejected_before = pool.health().jobs_rejected
    task = asyncio.ensure_future(pool.analyze(InferenceJob(bomb)))
    lag = await max_loop_lag(task)
    with pytest.raises(ImageRejected) as caught:
        task.result()
    assert caught.value.reason == "too_many_pixels"
    assert "too big" in caught.value.user_message
    assert lag.cpu < MAX_LOOP_CPU and lag.wall < MAX_LOOP_WAIT, lag
    assert pool.health().jobs_rejected == rejected_before + 1
    assert pool.worker_pids() == pids  # an image error is an answer, not a crash


async def test_a_hanging_decode_hits_the_timeout_while_the_loop_stays_responsive(
    pool: InferencePool, local_engine: RecognitionEngine, tmp_path: Path
) -> None:
    before = pool.health()
    innocent = picture(1)
    gate = tmp_path / "struck"
    hang = asyncio.ensure_future(pool.analyze(InferenceJob(HANG)))

    async def running_when_the_timeout_strikes() -> ImageAnalysis:
        # half the timeout after the hang: in flight when the hang's timeout strikes, its own far off. It waits in
        # its worker until the strike has been seen, so its retry on the fresh pool does not wait again.
        await until(lambda: pool.health().running == 1, what="the hanging job reaches a worker")
        await asyncio.sleep(pool.settings.pool.job_timeout / 2)
        return await pool.analyze(gated_job(gate, innocent))

    async def strike_seen() -> None:
        with contextlib.suppress(InferenceFailed):
            await asyncio.shield(hang)
        gate.touch()

    neighbour = asyncio.ensure_future(running_when_the_timeout_strikes())
    loop = asyncio.get_running_loop()
    started = loop.time()
    lag = await max_loop_lag(asyncio.gather(hang, neighbour, strike_seen(), return_exceptions=True))

    with pytest.raises(InferenceFailed) as caught:
        hang.result()
    assert "too long" in caught.value.user_message
    assert loop.time() - started < pool.settings.pool.job_timeout + 30  # not the worker's 60 s sleep
    assert lag.cpu < MAX_LOOP_CPU and lag.wall < MAX_LOOP_WAIT, lag
    # the hung worker's pool was killed; the job beside it was retried and answered correctly
    assert_same_analysis(neighbour.result(), local_engine.analyze(InferenceJob(innocent)))
    after = pool.health()
    assert after.jobs_timed_out == before.jobs_timed_out + 1
    assert after.restarts == before.restarts + 1
    assert after.jobs_retried == before.jobs_retried + 1
    assert after.in_flight == 0
    assert (await pool.analyze(InferenceJob(picture(2)))).whole.tag_probs.size > 0
