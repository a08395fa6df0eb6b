"""Configuration comes from the environment with the WAIFU_ prefix and never leaks the token."""

from __future__ import annotations

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
