"""reindex: references enrolled with the palette tagger are recomputed for a WD tagger + CCIP, resumably."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest

from bot.app import Services, open_services
from bot.cli.main import main
from bot.config import Settings
from bot.inference.engine import build_recognition_engine
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from bot.services.reindex import reindex
from bot.store.records import ReferenceRecord
from tests.bot.fake_models import publish_ccip, rating_tags, write_wd_tagger
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR, draw_character, encode

TAGS = [*rating_tags(), ("red_hair", 0), ("blue_hair", 0), ("green_hair", 0)]


def new_model_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The same data directory, now with a WD-format tagger and the CCIP embedder."""
    weights = np.random.default_rng(5).uniform(0, 1 / 255, size=(3, len(TAGS))).astype(np.float32)
    folder = write_wd_tagger(tmp_path / "wd-next", TAGS, weights)
    publish_ccip(tmp_path / "hub")
    recognition = settings.recognition.model_copy(update={"ccip": True})
    return settings.model_copy(
        update={"tagger": str(folder), "model_cache_dir": tmp_path / "hub", "recognition": recognition}
    )


async def enroll_with_palette(settings: Settings) -> dict[str, bytes]:
    """Three approved references and one pending submission, all made by the palette tagger."""
    pictures = {
        "Alice": encode(draw_character(BLONDE, seed=1)),
        "Bea": encode(draw_character(BLUE_HAIR, seed=2)),
        "Cara": encode(draw_character(PINK_HAIR, seed=3)),
        "Pending": encode(draw_character(PINK_HAIR, seed=9)),
    }
    services = await open_services(settings)
    try:
        for name in ("Alice", "Bea", "Cara"):
            await services.enrollment.enroll_approved(name, pictures[name])
        await services.enrollment.submit("Cara", pictures["Pending"], guild_id=5, user_id=9)
    finally:
        await services.close()
    return pictures


async def all_references(services: Services) -> list[ReferenceRecord]:
    return await services.store.list_references(status=None, all_scopes=True)


async def run_reindex(services: Services, analyzer=None):
    return await reindex(
        services.store,
        analyzer or services.analyzer,
        services.images,
        tagger=services.gallery.tagger,
        embedder=services.gallery.embedder,
    )


async def test_reindex_recomputes_other_models_references_and_the_gallery_serves_them(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pictures = await enroll_with_palette(settings)
    switched = new_model_settings(settings, tmp_path)
    services = await open_services(switched)
    try:
        assert len(services.gallery) == 0 and services.gallery.skipped == 3
        assert "waifu-bot reindex" in caplog.text
        summary = await run_reindex(services)
        assert (summary.updated, summary.current, summary.missing, summary.checked) == (4, 0, (), 4)
        references = await all_references(services)
    finally:
        await services.close()
    engine = build_recognition_engine(switched)
    by_picture = {services.images.relative_path(data): data for data in pictures.values()}
    for reference in references:
        expected = engine.analyze(InferenceJob(image=by_picture[reference.image_path], detect_faces=False))
        assert (reference.tagger, reference.embedder) == (engine.tagger_identity, engine.embedder_identity)
        # stored in float16 (bot/store/vectors.py): equal to within its rounding
        np.testing.assert_allclose(reference.tag_vector, expected.whole.tag_probs, rtol=2**-11, atol=1e-6)
        np.testing.assert_allclose(reference.embedding, expected.whole.embedding, rtol=2**-11, atol=1e-5)
    reopened = await open_services(switched)
    try:
        assert len(reopened.gallery) == 3 and reopened.gallery.skipped == 0
        (region,) = (await reopened.identify.identify(pictures["Alice"])).regions
        assert region.matches[0].character == "Alice"
        assert region.matches[0].distance == pytest.approx(0.0, abs=1e-5)
        again = await run_reindex(reopened)
        assert (again.updated, again.current) == (0, 4)
    finally:
        await reopened.close()


class CountingAnalyzer:
    """Passes jobs to the real analyzer, counting them; raises after `fail_after` jobs, like a power cut."""

    def __init__(self, inner, fail_after: int | None = None) -> None:
        self.inner = inner
        self.fail_after = fail_after
        self.jobs = 0

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        if self.fail_after is not None and self.jobs >= self.fail_after:
            raise RuntimeError("power cut")
        self.jobs += 1
        return await self.inner.analyze(job)

    async def close(self) -> None:
        """Nothing of its own to release."""


async def test_an_interrupted_reindex_resumes_where_it_stopped(settings: Settings, tmp_path: Path) -> None:
    await enroll_with_palette(settings)
    services = await open_services(new_model_settings(settings, tmp_path))
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            await run_reindex(services, CountingAnalyzer(services.analyzer, fail_after=2))
        references = await all_references(services)
        done = [reference.id for reference in references if reference.tagger == services.gallery.tagger]
        assert done == sorted(reference.id for reference in references)[:2]
        resumed = CountingAnalyzer(services.analyzer)
        summary = await run_reindex(services, resumed)
        assert resumed.jobs == 2
        assert (summary.updated, summary.current) == (2, 2)
        assert {reference.tagger for reference in await all_references(services)} == {services.gallery.tagger}
    finally:
        await services.close()


async def test_a_reference_whose_picture_is_gone_is_reported_and_kept(settings: Settings, tmp_path: Path) -> None:
    pictures = await enroll_with_palette(settings)
    services = await open_services(new_model_settings(settings, tmp_path))
    try:
        lost = services.images.relative_path(pictures["Bea"])
        services.images.discard(lost)
        summary = await run_reindex(services)
        references = {reference.image_path: reference for reference in await all_references(services)}
    finally:
        await services.close()
    assert summary.missing == (references[lost].id,)
    assert summary.updated == 3
    assert references[lost].tagger.startswith("palette@")


class TerminalStream(io.StringIO):
    """Captured stderr that says it is a terminal, so the progress bar draws."""

    def isatty(self) -> bool:
        return True


def test_the_reindex_command_shows_a_summary_and_resumes(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(enroll_with_palette(settings))
    switched = new_model_settings(settings, tmp_path)
    monkeypatch.setenv("WAIFU_RECOGNITION__CCIP", "true")
    monkeypatch.setenv("WAIFU_MODEL_CACHE_DIR", str(switched.model_cache_dir))
    arguments = ["reindex", "--data-dir", str(settings.data_dir), "--tagger", switched.tagger]
    terminal = TerminalStream()
    with monkeypatch.context() as patched:
        patched.setattr("sys.stderr", terminal)
        assert main(arguments) == 0
    first = capsys.readouterr()
    assert "4 recomputed, 0 already current" in first.out
    assert "ccip-caformer-24-randaug-pruned@" in first.out
    assert "reindex" in terminal.getvalue()  # the progress bar, drawn because stderr is a terminal
    assert main([*arguments, "--quiet"]) == 0
    assert "0 recomputed, 4 already current" in capsys.readouterr().out
