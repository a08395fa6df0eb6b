"""`waifu-bot eval --calibrate`: a tagger's own "unknown" cutoff, stored per tagger and read by the next gallery.

Until one is stored, a WD tagger answers without an unknown verdict and says so; the palette keeps its default.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.app import Services, open_services
from bot.cli.main import main
from bot.config import Settings
from bot.recognition.cutoff import UNCALIBRATED_NOTE
from bot.services.calibration import Calibration, save_calibration
from bot.services.evaluation import evaluate
from bot.store.repository import CharacterStore
from models.errors import UserFacingError
from tests.bot.fake_models import rating_tags, write_wd_tagger
from tests.bot.services.test_evaluation import drawn_dataset
from tests.drawing import encode

TAGS = [*rating_tags(), ("red_hair", 0), ("blue_hair", 0), ("green_hair", 0)]


def wd_settings(settings: Settings, tmp_path: Path) -> Settings:
    """A WD-format tagger whose hair tags follow the picture's mean red, green and blue; tag profile only."""
    weights = np.zeros((3, len(TAGS)), dtype=np.float32)
    for row, column in ((2, 4), (0, 5), (1, 6)):  # BGR input rows: red -> red_hair, blue -> blue_hair, ...
        weights[row, column] = 1 / 255
    folder = write_wd_tagger(tmp_path / "wd-calib", TAGS, weights)
    recognition = settings.recognition.model_copy(update={"feature_blocks": False})
    return settings.model_copy(update={"tagger": str(folder), "recognition": recognition})


def solid(colour: tuple[int, int, int]) -> bytes:
    return encode(Image.new("RGB", (64, 64), colour))


@pytest.fixture
async def wd_services(settings: Settings, tmp_path: Path) -> AsyncIterator[Services]:
    opened = await open_services(wd_settings(settings, tmp_path))
    yield opened
    await opened.close()


async def test_an_uncalibrated_wd_tagger_gives_no_unknown_verdict_and_says_so(wd_services: Services) -> None:
    await wd_services.enrollment.enroll_approved("Rosa", solid((250, 0, 0)))
    await wd_services.enrollment.enroll_approved("Blau", solid((0, 0, 250)))
    result = await wd_services.identify.identify(solid((0, 250, 0)))
    (region,) = result.regions
    assert region.matches and region.matches[0].distance > 0.044  # beyond the palette's cutoff
    assert not region.unknown  # before: "unknown", by the cutoff measured on the palette tagger
    assert UNCALIBRATED_NOTE in result.notes


async def test_a_stored_cutoff_is_read_at_load_and_decides(
    wd_services: Services, settings: Settings, tmp_path: Path
) -> None:
    await wd_services.enrollment.enroll_approved("Rosa", solid((250, 0, 0)))
    await wd_services.enrollment.enroll_approved("Blau", solid((0, 0, 250)))
    tagger = wd_services.gallery.tagger
    far = (await wd_services.identify.identify(solid((0, 250, 0)))).regions[0].matches[0].distance
    calibration = Calibration(tagger, "tags", distance=far / 2, kept=0.9, absent_rejected=0.5, queries=10)
    await save_calibration(wd_settings(settings, tmp_path), calibration)
    reopened = await open_services(wd_settings(settings, tmp_path))
    try:
        assert reopened.gallery.cutoff.source == "calibrated"
        assert reopened.gallery.unknown_distance == pytest.approx(far / 2)
        result = await reopened.identify.identify(solid((0, 250, 0)))
        near = await reopened.identify.identify(solid((245, 0, 0)))
    finally:
        await reopened.close()
    assert result.regions[0].unknown and UNCALIBRATED_NOTE not in result.notes
    assert not near.regions[0].unknown


async def test_eval_calibrate_keeps_ninety_percent_of_known_queries(settings: Settings, tmp_path: Path) -> None:
    root = drawn_dataset(tmp_path / "set", per_character=6)
    report = await evaluate(root, settings, refs=2, seed=0, calibrate_cutoff=True)
    measured = report.calibration
    assert measured is not None and measured.tagger == "palette@1"
    assert measured.measure == ("blocks" if settings.recognition.feature_blocks else "tags")
    assert measured.queries == report.queries == 16
    assert measured.kept == 15 / 16  # the least distance that answers at least 90% of the 16
    assert measured.absent_rejected is not None and 0.0 <= measured.absent_rejected <= 1.0
    assert report.to_json()["calibration"]["distance"] == pytest.approx(measured.distance)
    assert "calibration" not in (await evaluate(root, settings, refs=2, seed=0)).to_json()


async def test_calibrate_is_refused_with_ccip(settings: Settings, tmp_path: Path) -> None:
    recognition = settings.recognition.model_copy(update={"ccip": True})
    with pytest.raises(UserFacingError, match="CCIP"):
        await evaluate(tmp_path, settings.model_copy(update={"recognition": recognition}), calibrate_cutoff=True)


def test_the_cli_prints_and_stores_the_cutoff(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = drawn_dataset(tmp_path / "set")
    data_dir = tmp_path / "data"
    assert (
        main(["--data-dir", str(data_dir), "--tagger", "palette", "eval", str(root), "--refs", "2", "--calibrate"]) == 0
    )
    out = capsys.readouterr().out
    assert "unknown cutoff for palette@1" in out and "keeps 0.917 of 12 known queries" in out
    assert "absent characters rejected at it" in out

    async def stored() -> float | None:
        store = await CharacterStore.open(f"sqlite+aiosqlite:///{data_dir / 'waifu.sqlite3'}")
        try:
            measure = "blocks" if Settings(_env_file=None).recognition.feature_blocks else "tags"
            found = await store.unknown_cutoff("palette@1", measure)
            return None if found is None else found.distance
        finally:
            await store.close()

    assert asyncio.run(stored()) is not None
