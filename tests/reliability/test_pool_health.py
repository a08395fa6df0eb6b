"""Issue 13, items 5-8 and 18: bursts are served, per-job limits hold, start-up deaths heal, kill -9 leaves nobody."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import Busy, InferenceFailed
from bot.inference import InferencePool
from bot.inference import pool as pool_module
from bot.inference.admission import Admission
from bot.recognition.analysis import InferenceJob
from models.errors import ImageRejected
from tests.bot.inference.conftest import pool_settings
from tests.bot.inference.engines import (
    BURN,
    HANG,
    HOG,
    dies_once_at_start,
    magic_engine,
    slow_job,
    stalls_once_at_start,
)
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode

GENEROUS = 120.0
"""Upper bound for waits on a busy 2-core machine; the loops end as soon as the condition holds."""


def picture(seed: int) -> bytes:
    """A small drawn PNG."""
    return encode(draw_character(BLONDE if seed % 2 else BLUE_HAIR, seed=seed, size=(96, 72)), "PNG")


def test_admission_says_busy_only_past_the_expected_wait_or_the_owner_cap() -> None:
    admission = Admission(workers=2, capacity=100, max_wait=1.0, per_owner=3)
    for _ in range(3):
        admission.admit("alice")
    with pytest.raises(Busy, match="You already have 3 pictures waiting"):
        admission.admit("alice")
    admission.admit("bob")  # another member still gets in
    admission.record(0.4)
    admission.admit(None)  # 4 ahead on 2 workers: two rounds of 0.4 s
    admission.admit(None)  # 5 ahead: still two rounds
    with pytest.raises(Busy):
        admission.admit(None)  # 6 ahead: 1.2 s > max_wait
    admission.release("alice")
    admission.release("bob")
    admission.admit("alice")


async def test_a_burst_is_queued_and_answered_not_refused(tmp_path: Path) -> None:
    pool = InferencePool(pool_settings(tmp_path, workers=2), magic_engine)
    await pool.start()
    try:
        answers = await asyncio.gather(*(pool.analyze(InferenceJob(picture(seed))) for seed in range(60)))
        assert len(answers) == 60 and pool.health().jobs_busy == 0
        # one member cannot fill the queue: their ninth waiting job is refused, another member's is not
        alice = replace(slow_job(0.2, picture(1)), owner="alice")
        mine = [asyncio.ensure_future(pool.analyze(alice)) for _ in range(9)]
        theirs = asyncio.ensure_future(pool.analyze(InferenceJob(picture(2), owner="bob")))
        outcomes = await asyncio.gather(*mine, theirs, return_exceptions=True)
        assert sum(isinstance(outcome, Busy) for outcome in outcomes) == 1
        assert isinstance(outcomes[-1], type(answers[0]))
    finally:
        await pool.close()


async def test_memory_and_cpu_hogs_are_refused_in_their_worker_which_survives(tmp_path: Path) -> None:
    settings = pool_settings(tmp_path, workers=1, job_memory_mb=256, job_cpu_seconds=1.0, job_timeout=GENEROUS)
    pool = InferencePool(settings, magic_engine)
    await pool.start()
    try:
        (pid,) = pool.worker_pids()
        for payload in (HOG, BURN):
            with pytest.raises(ImageRejected) as caught:
                await pool.analyze(InferenceJob(payload))
            assert caught.value.reason == "too_costly"
        assert (await pool.analyze(InferenceJob(picture(3)))).whole.tag_probs.size > 0
        assert pool.worker_pids() == [pid] and pool.health().restarts == 0
    finally:
        await pool.close()


async def test_a_worker_dying_at_start_up_is_replaced_at_once(tmp_path: Path) -> None:
    pool = InferencePool(pool_settings(tmp_path, workers=2, job_timeout=GENEROUS), dies_once_at_start)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        analysis = await pool.analyze(InferenceJob(picture(4)))
        assert analysis.whole.tag_probs.size > 0
        assert (tmp_path / "start-marks" / "died").exists()
        assert pool.health().restarts == 1
        assert loop.time() - started < GENEROUS  # not stuck behind the 120 s start barrier
    finally:
        await pool.close()


async def test_a_worker_killed_while_loading_is_noticed_when_it_dies_not_at_the_start_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "START_TIMEOUT", 3600.0)  # only the death itself can end the wait in time
    pool = InferencePool(pool_settings(tmp_path, workers=2, job_timeout=GENEROUS), stalls_once_at_start)
    stalled = tmp_path / "start-marks" / "stalled"
    try:
        answer = asyncio.ensure_future(pool.analyze(InferenceJob(picture(6))))
        await asyncio.to_thread(_wait_for_file, stalled)
        os.kill(int(stalled.read_text()), signal.SIGKILL)
        analysis = await asyncio.wait_for(answer, timeout=GENEROUS)
        assert analysis.whole.tag_probs.size > 0
        health = pool.health()
        assert health.restarts == 1 and health.jobs_retried == 0  # the job waited for the next generation
    finally:
        await pool.close()


async def test_a_timed_out_job_leaves_no_unretrieved_future(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    unretrieved: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: unretrieved.append(context.get("message", "")))
    # short for the hang, yet ten times the first real job of the fresh worker that follows (~0.3 s unloaded)
    pool = InferencePool(pool_settings(tmp_path, workers=1, job_timeout=3.0), magic_engine)
    try:
        await pool.start()
        with pytest.raises(InferenceFailed) as caught:
            await pool.analyze(InferenceJob(HANG))
        assert "too long" in caught.value.user_message
        assert (await pool.analyze(InferenceJob(picture(5)))).whole.tag_probs.size > 0
    finally:
        await pool.close()
        gc.collect()
        await asyncio.sleep(0)
        loop.set_exception_handler(previous)
    assert [message for message in unretrieved if "never retrieved" in message] == []


def _wait_for_file(path: Path) -> None:
    """Return once `path` exists (the worker's sign that it is loading); GENEROUS is only the hang guard."""
    give_up = time.monotonic() + GENEROUS
    while not path.exists():
        assert time.monotonic() < give_up, f"{path} never appeared"
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_kill_9_of_the_parent_leaves_no_worker_and_no_tracker(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.orphan_parent", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = parent.stdout.readline() if parent.stdout is not None else ""
        pids = json.loads(line)
        children = [*pids["workers"], *([pids["tracker"]] if pids["tracker"] else [])]
        assert len(pids["workers"]) == 2 and all(_alive(pid) for pid in children)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        give_up = time.monotonic() + GENEROUS
        while any(_alive(pid) for pid in children) and time.monotonic() < give_up:
            time.sleep(0.1)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if parent.poll() is None:
            parent.kill()
