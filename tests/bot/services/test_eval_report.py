"""`waifu-bot eval --report`: the confusion matrix adds up to the queries, and the PNGs are written beside the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from bot.cli.main import main
from bot.services.eval_report import confusion_matrix
from bot.services.evaluation import CharacterScore, EvalReport
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR, draw_character

pytest.importorskip("matplotlib")


def report_of(predictions: tuple[tuple[str, str, int], ...]) -> EvalReport:
    scores = tuple(CharacterScore(name, 2, 3, 0.5, 0.5, 0.5, 0.5, 0.5) for name in ("A", "B"))
    return EvalReport(2, 6, 2, 0.5, 0.8, 0.5, 0.5, 0.5, scores, (), (), 1.0, predictions=predictions)


def test_confusion_matrix_counts_every_prediction() -> None:
    columns, counts = confusion_matrix(report_of((("A", "A", 2), ("A", "B", 1), ("B", "", 1), ("B", "B", 2))))
    assert columns == ["A", "B", "(none)"]
    assert counts == [[2, 1, 0], [0, 2, 1]]


def test_eval_report_writes_json_and_pictures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    dataset = tmp_path / "dataset"
    for name, design in (("alice", BLONDE), ("bea", BLUE_HAIR), ("pia", PINK_HAIR)):
        (dataset / name).mkdir(parents=True)
        for seed in range(4):
            draw_character(design, seed=seed + 31 * len(name)).save(dataset / name / f"{seed}.png")
    out = tmp_path / "report"
    args = ["--data-dir", str(tmp_path / "data"), "--workers", "0", "eval", str(dataset), "--refs", "2"]
    assert main([*args, "--report", str(out)]) == 0
    written = json.loads((out / "report.json").read_text())
    assert written["queries"] == 6
    for name in ("confusion.png", "per_character.png"):
        assert Image.open(out / name).format == "PNG"
