"""Issue 13, item 7: `import` and batch `identify` name a hostile file and go on with the others."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.drawing import BLONDE, BLUE_HAIR, draw_character
from tests.reliability.hostile import sparse_file, strip_png

GOOD_PER_CHARACTER = 15


@pytest.fixture
def dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two characters of drawn pictures, with a strip, an oversized file and a damaged file among them."""
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    root = tmp_path / "set"
    for name, design in (("alice", BLONDE), ("bea", BLUE_HAIR)):
        (root / name).mkdir(parents=True)
        for seed in range(GOOD_PER_CHARACTER):
            draw_character(design, seed=seed + 40 * len(name), size=(160, 120)).save(root / name / f"{seed:02d}.png")
    (root / "alice" / "strip.png").write_bytes(strip_png(1, 40_000_000))
    sparse_file(root / "bea" / "huge.png", 1_000_000_000)
    (root / "bea" / "damaged.png").write_bytes((root / "bea" / "00.png").read_bytes()[:300])
    return root


def cli(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), "--tagger", "palette", "--workers", "0", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_import_names_each_hostile_file_and_imports_the_rest(capsys, tmp_path: Path, dataset: Path) -> None:
    code, out, _ = cli(capsys, tmp_path / "data", "import", str(dataset))
    assert code == 0
    found = re.search(r"imported (\d+) reference.*skipped (\d+) duplicate.* and (\d+) unusable", out)
    assert found is not None, out
    imported, duplicates, unusable = map(int, found.groups())
    assert imported + duplicates == 2 * GOOD_PER_CHARACTER and imported > GOOD_PER_CHARACTER  # drawn look-alikes
    assert unusable == 3
    for hostile in ("alice/strip.png", "bea/huge.png", "bea/damaged.png"):
        assert any(str(dataset / hostile) in line and "skipped" in line for line in out.splitlines()), hostile


def test_batch_identify_prints_the_good_pictures_and_names_the_bad(capsys, tmp_path: Path, dataset: Path) -> None:
    good = [str(dataset / "alice" / "00.png"), str(dataset / "bea" / "01.png")]
    bad = [str(dataset / "alice" / "strip.png"), str(dataset / "bea" / "huge.png")]
    code, out, err = cli(capsys, tmp_path / "data", "identify", bad[0], *good, bad[1])
    assert code == 2
    assert all(path in out for path in good)
    lines = err.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines if line.startswith(str(dataset))] == bad
    assert "long and thin" in err and "too large" in err
