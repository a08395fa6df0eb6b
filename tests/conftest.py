"""Shared fixtures: every test gets its own data directory and settings, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import RecognitionSettings, Settings

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(autouse=True)
def in_process_inference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run inference in-process unless they build a pool on purpose (spawning workers costs seconds)."""
    monkeypatch.setenv("WAIFU_POOL__WORKERS", "0")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a temporary data directory with the offline palette tagger.

    The fitted metric ranks as in the product, but on the tag block alone: the bundled CNN costs ~0.1 s a
    picture and these tests analyse thousands of drawn pictures. The feature blocks have their own tests
    (tests/bot/recognition/test_metric.py, tests/models/, the demo and the CLI run the product default).
    """
    return Settings(
        data_dir=tmp_path / "data",
        tagger="palette",
        recognition=RecognitionSettings(feature_blocks=False),
        _env_file=None,
    )


def dataset_dir(name: str) -> Path:
    """Path of a shared evaluation dataset, or skip the test when it is absent (a user's checkout)."""
    path = SHARED_DATASETS / name
    if not path.is_dir():
        pytest.skip(f"dataset {name} not present at {path}")
    return path
