"""Configuration comes from the environment with the WAIFU_ prefix and never leaks the token."""

from __future__ import annotations

import logging
from pathlib import Path

import pydantic
import pytest

from bot.config import Settings


def test_environment_overrides_nested_sections(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WAIFU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAIFU_POOL__WORKERS", "2")
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.pool.workers == 2
    assert settings.discord_token is not None
    assert "secret-token-value" not in repr(settings)
    assert settings.discord_token.get_secret_value() == "secret-token-value"


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    url = settings.resolved_database_url()
    assert url.startswith("sqlite+aiosqlite:///")
    assert url.endswith(str((tmp_path / "waifu.sqlite3").resolve()))


def test_threads_split_cores_across_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert Settings(pool={"workers": 2}).intra_op_threads() == 4
    assert Settings(pool={"workers": 16}).intra_op_threads() == 1
    assert Settings(onnx={"intra_op_threads": 3}).intra_op_threads() == 3


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(pydantic.ValidationError, match="not a folder"):
        Settings(data_dir=a_file, _env_file=None)


def test_submissions_per_hour_is_enrollment_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIFU_ENROLLMENT__SUBMISSIONS_PER_HOUR", "4")
    assert Settings(_env_file=None).enrollment.submissions_per_hour == 4
    assert not hasattr(Settings(_env_file=None).discord, "submissions_per_hour")


def test_the_old_discord_variable_still_works_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WAIFU_DISCORD__SUBMISSIONS_PER_HOUR", "3")
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        assert Settings(_env_file=None).enrollment.submissions_per_hour == 3
    assert "WAIFU_ENROLLMENT__SUBMISSIONS_PER_HOUR" in caplog.text
    monkeypatch.setenv("WAIFU_ENROLLMENT__SUBMISSIONS_PER_HOUR", "5")
    assert Settings(_env_file=None).enrollment.submissions_per_hour == 5  # the new name wins
