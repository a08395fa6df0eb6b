"""Shared fixtures: every test gets its own data directory and settings, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(autouse=True)
def in_process_inference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run inference in-process unless they build a pool on purpose (spawning workers costs seconds)."""
    monkeypatch.setenv("WAIFU_POOL__WORKERS", "0")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a temporary data directory with the offline palette tagger."""
    return Settings(data_dir=tmp_path / "data", tagger="palette", _env_file=None)


def dataset_dir(name: str) -> Path:
    """Path of a shared evaluation dataset, or skip the test when it is absent (a user's checkout)."""
    path = SHARED_DATASETS / name
    if not path.is_dir():
        pytest.skip(f"dataset {name} not present at {path}")
    return path
