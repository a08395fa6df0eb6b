"""`waifu-bot pool` starts real workers and reports their health."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.cli.pool_cmd import render_health
from bot.inference import PoolHealth


def test_pool_command_reports_health_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pool", "--workers", "1", "--jobs", "3", "--json", "--data-dir", str(tmp_path), "--tagger", "palette"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["workers"] == 1
    assert report["jobs_done"] == 3
    assert report["jobs_failed"] == 0
    assert report["latency_window"] == 3
    assert 0 < report["latency_p50_ms"] <= report["latency_p95_ms"]
    assert report["in_flight"] == 0
    assert report["start_up_s"] > 0


def test_pool_command_refuses_bad_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", "--jobs", "0", "--data-dir", str(tmp_path)]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_health_renders_for_people() -> None:
    health = PoolHealth(
        workers=2, workers_alive=1, accepting=True, running=1, waiting=3, capacity=16, jobs_done=40,
        jobs_failed=1, jobs_rejected=2, jobs_busy=5, jobs_timed_out=1, jobs_retried=2, restarts=1,
        latency_p50_ms=21.5, latency_p95_ms=88.25, latency_window=40,
    )  # fmt: skip
    text = render_health(health, start_up=1.5)
    assert "1 alive of 2" in text
    assert "1 running, 3 waiting (capacity 16)" in text
    assert "p50 21.5 ms, p95 88.2 ms (last 40 jobs)" in text
    assert "5 refused busy" in text
    assert "start-up   1.50 s" in text
