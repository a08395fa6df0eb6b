"""`waifu-bot models list` and `waifu-bot models pull` through the real CLI entry point, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import constants as hub_constants

import models.download as download
from bot.cli.main import main
from models.registry import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, DEFAULT_TAGGER, get_card
from tests.models.test_download import COMMIT, FakeHub, _publish_fake_models


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated data dir and model cache for the CLI, configured through the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WAIFU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WAIFU_MODEL_CACHE_DIR", str(cache))
    monkeypatch.setenv("WAIFU_RECOGNITION__CCIP", "true")
    monkeypatch.delenv("WAIFU_TAGGER", raising=False)
    monkeypatch.delenv("WAIFU_RECOGNITION__FACE_DETECTION", raising=False)
    return cache


def _rows(capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(capsys.readouterr().out)["models"]}


def test_list_shows_known_present_and_selected(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--json"]) == 0
    rows = _rows(capsys)
    assert rows["palette"]["present"] and rows["palette"]["selected"]
    assert rows[DEFAULT_EMBEDDER]["selected"] and not rows[DEFAULT_EMBEDDER]["present"]
    assert not rows[DEFAULT_DETECTOR]["selected"]
    assert rows[DEFAULT_TAGGER]["repo"] == "SmilingWolf/wd-swinv2-tagger-v3"


def test_list_table_points_at_the_pull_command(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tagger", DEFAULT_TAGGER, "models", "list"]) == 0
    out = capsys.readouterr().out
    assert "PRESENT" in out and "LICENCE" in out and "Apache-2.0" in out
    assert f"run `waifu-bot models pull {DEFAULT_TAGGER} {DEFAULT_EMBEDDER}`" in out


def test_pull_then_list_shows_the_model_present(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = FakeHub(tmp_path / "repos")
    _publish_fake_models(hub)
    monkeypatch.setattr(download, "hf_hub_download", hub.hf_hub_download)
    assert main(["models", "pull", DEFAULT_DETECTOR]) == 0
    assert f"{DEFAULT_DETECTOR}@{COMMIT[:12]}" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    assert _rows(capsys)[DEFAULT_DETECTOR]["present"]
    assert [path for _, path, _ in hub.calls] == list(get_card(DEFAULT_DETECTOR).files)


def test_pull_without_names_fetches_the_recommended_set(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub(tmp_path / "repos")
    _publish_fake_models(hub)
    monkeypatch.setattr(download, "hf_hub_download", hub.hf_hub_download)
    assert main(["models", "pull"]) == 0
    assert {repo for repo, _, _ in hub.calls} == {
        get_card(name).repo_id for name in (DEFAULT_TAGGER, DEFAULT_EMBEDDER, DEFAULT_DETECTOR)
    }


def test_pull_offline_is_one_clear_line(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    assert main(["models", "pull", DEFAULT_DETECTOR]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HF_HUB_OFFLINE" in err[0]


def test_pull_of_an_unknown_model_is_a_usage_error(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "pull", "wd-imaginary"]) == 2
    assert "no model named 'wd-imaginary'" in capsys.readouterr().err
