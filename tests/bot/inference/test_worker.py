"""Worker-side pieces that need no processes: portable errors, counters, and the analyzer choice."""

from __future__ import annotations

import os
import pickle
import platform
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.errors import ImageRejected, ModelUnavailable
from bot.inference import InferencePool, create_analyzer
from bot.inference.allocator import keep_freed_memory
from bot.inference.generation import worker_settings
from bot.inference.local import LocalAnalyzer
from bot.inference.stats import PoolCounters
from bot.inference.worker import WorkerError, portable_error
from tests.bot.inference.conftest import pool_settings


class _Unpicklable(Exception):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(first)
        self.second = second


def test_an_image_error_crosses_processes_as_itself() -> None:
    original = ImageRejected("too_many_pixels", "That image is too big.", detail="50000x50000")
    assert portable_error(original) is original
    rebuilt = pickle.loads(pickle.dumps(original))
    assert type(rebuilt) is ImageRejected
    assert (rebuilt.reason, rebuilt.user_message, str(rebuilt)) == (
        "too_many_pixels",
        "That image is too big.",
        "50000x50000",
    )


def test_errors_that_pickle_stay_themselves_and_others_become_worker_errors() -> None:
    unavailable = ModelUnavailable("Fetch the model.", detail="no file")
    assert portable_error(unavailable) is unavailable
    replaced = portable_error(_Unpicklable("boom", "extra"))
    assert isinstance(replaced, WorkerError)
    assert "_Unpicklable: boom" in str(replaced)
    pickle.loads(pickle.dumps(replaced))


def test_workers_get_cores_divided_by_workers_as_intra_op_threads_and_no_token(tmp_path: Path) -> None:
    settings = pool_settings(tmp_path, workers=2).model_copy(update={"discord_token": SecretStr("secret")})
    pinned = worker_settings(settings)
    assert pinned.onnx.intra_op_threads == max(1, (os.cpu_count() or 1) // 2)
    assert pinned.pool == settings.pool
    assert pinned.discord_token is None
    explicit = settings.model_copy(update={"onnx": settings.onnx.model_copy(update={"intra_op_threads": 3})})
    assert worker_settings(explicit).onnx.intra_op_threads == 3


def test_counters_report_percentiles_of_the_recent_window() -> None:
    counters = PoolCounters(window=100)
    assert counters.percentiles() == (None, None)
    for millis in range(1, 201):  # only the last 100 (101..200 ms) count
        counters.record_latency(millis / 1000)
    p50, p95 = counters.percentiles()
    assert counters.window_size == 100
    assert p50 == pytest.approx(150.5)
    assert p95 == pytest.approx(195.05)


async def test_create_analyzer_picks_the_pool_only_when_workers_are_configured(settings: Settings) -> None:
    local = create_analyzer(settings)
    assert isinstance(local, LocalAnalyzer)
    await local.close()
    pooled = create_analyzer(settings.model_copy(update={"pool": settings.pool.model_copy(update={"workers": 2})}))
    assert isinstance(pooled, InferencePool)
    await pooled.close()  # never started: nothing to stop
    assert pooled.health().workers_alive == 0


def test_the_fork_start_method_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fork"):
        InferencePool(pool_settings(tmp_path, workers=1), start_method="fork")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_worker_malloc_thresholds_apply_on_glibc() -> None:
    assert keep_freed_memory() is True
