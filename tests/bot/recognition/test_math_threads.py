"""The bot's process caps BLAS at every core but one, so an exact ranking never takes the event loop's core."""

from __future__ import annotations

import os

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bot.recognition import math_threads
from models.sessions import SessionConfig


def test_every_blas_library_gets_all_cores_but_one(monkeypatch) -> None:
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's BLAS is loaded
    with threadpool_limits(limits=None, user_api="blas"):  # on leaving, the suite's own limits come back
        monkeypatch.setattr(math_threads, "usable_cores", lambda: 3)
        assert math_threads.leave_a_core_for_the_loop() == 2
        blas = [library for library in threadpool_info() if library["user_api"] == "blas"]
        assert blas and all(library["num_threads"] == 2 for library in blas)
        monkeypatch.setattr(math_threads, "usable_cores", lambda: 1)
        assert math_threads.leave_a_core_for_the_loop() == 1  # one core: the maths keeps one thread, not none
        assert all(library["num_threads"] == 1 for library in threadpool_info() if library["user_api"] == "blas")


def test_usable_cores_follows_the_process_affinity() -> None:
    cores = math_threads.usable_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)


def test_the_metric_session_in_the_bots_process_leaves_a_core(monkeypatch) -> None:
    monkeypatch.setattr(math_threads, "usable_cores", lambda: 4)
    assert math_threads.beside_the_loop(SessionConfig(intra_op_threads=4)).intra_op_threads == 3
    assert math_threads.beside_the_loop(SessionConfig(intra_op_threads=2)).intra_op_threads == 2  # fewer asked: kept
    monkeypatch.setattr(math_threads, "usable_cores", lambda: 1)
    config = math_threads.beside_the_loop(SessionConfig(providers=("CPUExecutionProvider",), intra_op_threads=2))
    assert config.intra_op_threads == 1 and config.providers == ("CPUExecutionProvider",)
