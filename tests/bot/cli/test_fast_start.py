"""The CLI starts fast: help imports nothing heavy, read-only commands load no model, one picture starts no pool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config import PoolSettings, Settings
from bot.inference import uses_pool
from tests.bot.cli.test_common import Terminal
from tests.drawing import BLONDE, draw_character

HEAVY = ("onnxruntime", "onnx", "sqlalchemy", "discord", "numpy", "PIL", "pydantic")

PROBE = """
import json, sys
from bot.cli.main import build_parser
parser = build_parser()
commands = [action for action in parser._actions if hasattr(action, "choices") and action.choices]
for name in list(commands[0].choices) + [None]:
    try:
        parser.parse_args([name, "--help"] if name else ["--help"])
    except SystemExit:
        pass
print(json.dumps(sorted({module.split(".")[0] for module in sys.modules})))
"""


def test_help_of_every_command_imports_nothing_heavy() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not imported & set(HEAVY), f"--help imported {sorted(imported & set(HEAVY))}"
    assert "identify" in done.stdout and "characters" in done.stdout  # the help really was printed


def test_version_comes_from_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"waifu-bot {version('waifu-bot')}"


def test_one_or_a_few_pictures_run_in_process_and_batches_in_the_pool() -> None:
    pool = Settings(pool=PoolSettings(workers=2, one_shot_max=4))
    assert not uses_pool(pool, pictures=1) and not uses_pool(pool, pictures=4)
    assert uses_pool(pool, pictures=5) and uses_pool(pool, pictures=None)
    assert not uses_pool(Settings(pool=PoolSettings(workers=0)), pictures=None)
    assert uses_pool(Settings(pool=PoolSettings(workers=2, one_shot_max=0)), pictures=1)


class _NoModels:
    """Stands in for what loads a model or starts workers: any use fails the test."""

    def __init__(self, *_: object, **__: object) -> None:
        raise AssertionError("a model was loaded or a pool was started")


@pytest.fixture
def enrolled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with one enrolled character (enrolled in-process, before any patching)."""
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR", "WAIFU_POOL__WORKERS"):
        monkeypatch.delenv(variable, raising=False)
    picture = tmp_path / "alice.png"
    draw_character(BLONDE, seed=1).save(picture)
    data_dir = tmp_path / "data"
    assert main(["--data-dir", str(data_dir), "--workers", "0", "enroll", "alice", str(picture)]) == 0
    return data_dir


def test_characters_db_and_models_list_load_no_model(
    enrolled: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnxruntime

    capsys.readouterr()
    monkeypatch.setattr(onnxruntime, "InferenceSession", _NoModels)
    monkeypatch.setattr("bot.inference.pool.InferencePool.__init__", _NoModels.__init__)
    common = ["--data-dir", str(enrolled), "--workers", "2"]
    assert main([*common, "characters", "--json"]) == 0
    (alice,) = json.loads(capsys.readouterr().out)["characters"]
    assert alice["name"] == "alice" and alice["references"] == 1
    assert main([*common, "db", "upgrade"]) == 0
    assert main([*common, "models", "list", "--json"]) == 0


READ_ONLY_PROBE = """
import json, sys
from bot.cli.main import main
codes = [main(["--data-dir", sys.argv[1], *command.split()]) for command in ("characters", "db upgrade", "models list")]
print(json.dumps({"codes": codes, "runtime": sorted({"onnx", "onnxruntime"} & set(sys.modules))}))
"""


def test_characters_db_and_models_list_do_not_import_the_onnx_runtime(enrolled: Path) -> None:
    """Importing onnx and onnxruntime alone costs about a second of CPU: a listing must not pay it."""
    done = subprocess.run(
        [sys.executable, "-c", READ_ONLY_PROBE, str(enrolled)], capture_output=True, text=True, check=True, timeout=300
    )
    probed = json.loads(done.stdout.strip().splitlines()[-1])
    assert probed == {"codes": [0, 0, 0], "runtime": []}, done.stderr


def test_identify_one_picture_starts_no_pool(
    enrolled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "query.png"
    draw_character(BLONDE, seed=7).save(query)
    capsys.readouterr()
    monkeypatch.setattr("bot.inference.pool.InferencePool.__init__", _NoModels.__init__)
    assert main(["--data-dir", str(enrolled), "--workers", "2", "identify", str(query), "--json"]) == 0
    (region,) = json.loads(capsys.readouterr().out)["results"]
    assert region["matches"][0]["character"] == "alice"


def test_import_says_what_it_is_doing_before_the_bar(
    enrolled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "set" / "bea"
    folder.mkdir(parents=True)
    for seed in range(2):
        draw_character(BLONDE, seed=20 + seed).save(folder / f"{seed}.png")
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["--data-dir", str(enrolled), "--workers", "0", "import", str(tmp_path / "set")]) == 0
    said = terminal.getvalue()
    steps = ["scanning", "found 2 picture(s) of 1 character(s)", "loading the models", "opening the gallery"]
    positions = [said.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), said
    assert said.find("/2 [") > positions[-1]  # the bar (n/2 pictures) comes after the steps
