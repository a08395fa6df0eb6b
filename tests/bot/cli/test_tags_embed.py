"""`waifu-bot tags --json` and `waifu-bot embed --json`, checked against the project's own analysis of the picture."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from bot.app import open_services
from bot.cli.main import main, settings_from_args
from bot.recognition.analysis import InferenceJob
from bot.recognition.blocks import TAGS_BLOCK
from models.palette import palette_tag_names
from tests.drawing import BLONDE, BLUE_HAIR, draw_character


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """A data directory (the product's default settings: palette tagger, feature blocks) and two pictures."""
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    blonde, blue = tmp_path / "blonde.png", tmp_path / "blue.png"
    draw_character(BLONDE, seed=5).save(blonde)
    draw_character(BLUE_HAIR, seed=6).save(blue)
    return tmp_path / "data", blonde, blue


async def analysis_of(data_dir: Path, image: bytes, *, detect_faces: bool):
    """The analysis and gallery the CLI's own settings make, opened here as the CLI opens them."""
    import argparse

    args = argparse.Namespace(database_url=None, tagger=None, data_dir=data_dir, workers=0)
    services = await open_services(settings_from_args(args))
    try:
        analysis = await services.analyzer.analyze(InferenceJob(image=image, detect_faces=detect_faces))
        return analysis, services.gallery.vocabulary, services.tags.tags_of(analysis.whole.tag_probs)
    finally:
        await services.close()


def test_tags_json_lists_the_tags_above_threshold(cli, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir, blonde, _ = cli
    assert main(["--data-dir", str(data_dir), "tags", str(blonde), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    analysis, _, expected = asyncio.run(analysis_of(data_dir, blonde.read_bytes(), detect_faces=False))
    threshold = shown["thresholds"]["general"]
    names = palette_tag_names()
    wanted = {names[i]: float(p) for i, p in enumerate(analysis.whole.tag_probs) if p >= threshold}
    assert shown["tagger"].startswith("palette@") and threshold == pytest.approx(0.5)
    assert {item["tag"]: item["probability"] for item in shown["tags"]["general"]} == pytest.approx(wanted, abs=1e-6)
    probabilities = [item["probability"] for item in shown["tags"]["general"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert shown["tags"]["character"] == [] and shown["tags"]["rating"] == []
    assert [item["tag"] for item in shown["regions"]["top"]] == [
        score.tag for region, scores in expected.regions() if region == "top" for score in scores
    ]
    assert main(["--data-dir", str(data_dir), "tags", str(blonde)]) == 0
    table = capsys.readouterr().out
    assert all(score.tag in table for _, scores in expected.regions() for score in scores)


def test_embed_json_exports_each_block_with_its_dimensions(cli, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir, blonde, blue = cli
    assert main(["--data-dir", str(data_dir), "embed", str(blonde), str(blue), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == [str(blonde), str(blue)]
    for line, image in zip(lines, (blonde, blue), strict=True):
        analysis, vocabulary, _ = asyncio.run(analysis_of(data_dir, image.read_bytes(), detect_faces=True))
        (region,) = line["regions"]
        blocks = region["blocks"]
        expected = {TAGS_BLOCK: vocabulary.select(analysis.whole.tag_probs), **analysis.whole.blocks}
        assert line["features"] == analysis.features and line["tagger"] == analysis.tagger
        assert set(blocks) == set(expected) and "cnn_whole" in blocks
        for name, vector in expected.items():
            assert blocks[name]["dims"] == vector.size == len(blocks[name]["vector"])
            assert np.allclose(blocks[name]["vector"], vector, atol=1e-6)
        assert blocks[TAGS_BLOCK]["names"] == list(vocabulary.names)
        assert blocks["cnn_whole"]["names"] is None
    assert main(["--data-dir", str(data_dir), "embed", str(blonde)]) == 0
    table = capsys.readouterr().out
    assert "cnn_whole" in table and "1024" in table
