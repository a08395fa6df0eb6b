"""Shutdown: drain within the deadline, refuse new work clearly, kill what overstays, exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.errors import InferenceFailed, ModelUnavailable
from bot.inference import InferencePool, PoolClosed, install_stop_signals
from bot.recognition.analysis import InferenceJob
from models.palette import PALETTE_NAME, PALETTE_VERSION
from tests.bot.inference.conftest import pool_settings, until
from tests.bot.inference.engines import HANG, gated_job, magic_engine, slow_job
from tests.drawing import BLONDE, draw_character, encode

REPO_ROOT = Path(__file__).resolve().parents[3]
HUNG_SECONDS = 60.0
"""The job timeout of a pool whose job hangs; shutdown must take far less than this (it kills, not waits)."""


def picture() -> bytes:
    """One drawn character as PNG bytes."""
    return encode(draw_character(BLONDE))


async def test_close_drains_in_flight_jobs_then_refuses_new_ones(tmp_path: Path) -> None:
    pool = InferencePool(pool_settings(tmp_path, workers=1, shutdown_deadline=10.0), magic_engine)
    await pool.start()
    jobs = [asyncio.ensure_future(pool.analyze(slow_job(0.3, picture()))) for _ in range(3)]
    await until(lambda: pool.health().in_flight == 3, what="the three jobs are accepted")
    await pool.close()
    # every job accepted before close finished normally, queued ones included
    assert all(job.result().whole.tag_probs.size > 0 for job in jobs)
    health = pool.health()
    assert not health.accepting
    assert health.jobs_done == 3 and health.jobs_failed == 0
    assert health.workers_alive == 0
    with pytest.raises(PoolClosed) as caught:
        await pool.analyze(InferenceJob(picture()))
    assert "shutting down" in caught.value.user_message


async def test_close_kills_jobs_that_overstay_the_deadline(tmp_path: Path) -> None:
    pool = InferencePool(pool_settings(tmp_path, workers=1, job_timeout=HUNG_SECONDS), magic_engine)
    await pool.start()
    hung = asyncio.ensure_future(pool.analyze(InferenceJob(HANG)))
    queued = asyncio.ensure_future(pool.analyze(InferenceJob(picture())))
    await until(lambda: pool.health().running == 1 and pool.health().waiting == 1, what="one job runs, one waits")
    started = time.monotonic()
    await pool.close(deadline=0.5)
    assert time.monotonic() - started < HUNG_SECONDS / 2  # the hung job was killed, not waited for
    for job in (hung, queued):
        with pytest.raises(PoolClosed):
            job.result()
    assert pool.health().workers_alive == 0


async def test_a_model_that_fails_to_load_is_reported_at_start(tmp_path: Path) -> None:
    settings = pool_settings(tmp_path, workers=1).model_copy(update={"tagger": str(tmp_path / "no-such-model")})
    pool = InferencePool(settings)  # the production engine factory
    with pytest.raises(ModelUnavailable) as caught:
        await pool.start()
    assert "no-such-model" in caught.value.user_message
    with pytest.raises(ModelUnavailable):  # and to every job, instead of a broken pool
        await pool.analyze(InferenceJob(picture()))
    await pool.close()


async def test_stop_signals_set_the_event_instead_of_killing_the_process() -> None:
    stop = asyncio.Event()
    uninstall = install_stop_signals(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), timeout=30.0)  # at once; the bound only keeps a failure from hanging
        os.kill(os.getpid(), signal.SIGINT)  # a second signal while draining is ignored, not fatal
        await asyncio.sleep(0.05)
    finally:
        uninstall()
    assert stop.is_set()


def test_sigterm_drains_the_in_flight_job_and_exits_0(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bot.inference.serve_until_signalled", str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.strip() == f"drained {PALETTE_NAME}@{PALETTE_VERSION} accepting=False"


def test_inference_failed_is_what_a_closed_pool_raises() -> None:
    error = PoolClosed()
    assert isinstance(error, InferenceFailed)


async def test_a_cancelled_caller_leaves_its_worker_slot_held_until_the_worker_is_free(tmp_path: Path) -> None:
    pool = InferencePool(pool_settings(tmp_path, workers=1, job_timeout=30.0), magic_engine)
    await pool.start()
    gate = tmp_path / "open"
    try:
        abandoned = asyncio.ensure_future(pool.analyze(gated_job(gate, picture())))
        await until(lambda: pool.health().running == 1, what="the job reaches the worker")
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        health = pool.health()
        assert health.running == 1  # the worker is still busy with it, so no second job is pushed behind it
        assert health.jobs_failed == 0
        after = asyncio.ensure_future(pool.analyze(InferenceJob(picture())))
        gate.touch()  # the abandoned job may finish now; the next one waited for its slot
        assert (await after).whole.tag_probs.size > 0
        assert pool.health().running == 0
        # an abandoned job that hangs does not hold up shutdown past the deadline
        hung = asyncio.ensure_future(pool.analyze(InferenceJob(HANG)))
        await until(lambda: pool.health().running == 1, what="the hanging job reaches the worker")
        hung.cancel()
        started = time.monotonic()
    finally:
        await pool.close(deadline=0.5)
    assert time.monotonic() - started < 30.0 / 2  # well below the job timeout and the 60 s hang: killed
    assert pool.health().workers_alive == 0
