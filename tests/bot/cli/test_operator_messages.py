"""Errors an operator can act on (issue 10 item 4): no internal names, no pydantic prefixes, no Discord wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from tests.drawing import BLONDE, draw_character, encode


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "data"


def one_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and captured.out == "" and len(lines) == 1, captured.err
    return lines[0]


def test_argument_types_name_the_problem_not_a_function(capsys, data_dir: Path) -> None:
    line = one_line(capsys, "--data-dir", str(data_dir), "identify", "x.png", "--top", "abc")
    assert "_positive" not in line and "--top" in line and "whole number" in line


def test_setting_errors_have_no_pydantic_prefix(capsys, tmp_path: Path) -> None:
    a_file = tmp_path / "data.txt"
    a_file.write_text("not a folder")
    line = one_line(capsys, "--data-dir", str(a_file), "characters")
    assert "Value error" not in line and "not a folder" in line


def test_an_unknown_tagger_lists_the_models_that_exist(capsys, data_dir: Path) -> None:
    line = one_line(capsys, "--data-dir", str(data_dir), "--tagger", "nosuchmodel", "--workers", "0", "characters")
    assert "nosuchmodel" in line and "palette" in line and "wd-vit-tagger-v3" in line
    assert "models pull nosuchmodel" not in line  # a pull of a name that does not exist would fail too


def test_a_duplicate_is_explained_without_discord_wording(capsys, data_dir: Path, tmp_path: Path) -> None:
    first, copy = tmp_path / "a.png", tmp_path / "a-copy.jpg"
    draw_character(BLONDE, seed=1).save(first)
    copy.write_bytes(encode(draw_character(BLONDE, seed=1), "JPEG", quality=85))
    line = one_line(capsys, "--data-dir", str(data_dir), "--workers", "0", "enroll", "Alice", str(first), str(copy))
    assert "near-duplicate" in line and "send" not in line.lower()
