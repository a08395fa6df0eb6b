"""The reference search behind /similar: the gallery's own measure, per reference, and its visibility rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.app import open_services
from bot.config import RecognitionSettings, Settings
from bot.recognition.analysis import InferenceJob
from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.nearest import reference_search
from bot.recognition.profile import build_profile, profile_distances
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR


async def test_tag_measure_is_the_profile_distance_of_each_single_reference(services) -> None:
    for seed in (1, 2, 3):
        await services.enrollment.enroll_approved("Alice", picture(BLONDE, seed))
        await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, seed))
    await services.enrollment.enroll_approved("Mine", picture(GREEN_HAIR, 9), guild_id=77)
    query = picture(BLONDE, 20)
    result = await services.similar.similar(query, guild_id=None, age_restricted=False, top=12)
    analysis = await services.analyzer.analyze(InferenceJob(image=query, detect_faces=False))
    tags = services.gallery.vocabulary.select(analysis.whole.tag_probs)
    expected = {}
    for reference in await services.store.list_references(guild_id=None):
        profile = build_profile(services.gallery.vocabulary.select(reference.tag_vector)[None, :])
        expected[reference.id] = float(profile_distances(tags, [profile])[0])
    assert result.measure == "tags" and result.searched == 6, "guild 77's reference is not visible without it"
    assert [item.reference_id for item in result.references] == sorted(expected, key=expected.__getitem__)
    for item in result.references:
        assert np.isclose(item.distance, expected[item.reference_id], rtol=1e-5)
        assert item.picture is not None and not item.withheld
    assert {item.character for item in result.references[:3]} == {"Alice"}
    own = await services.similar.similar(picture(GREEN_HAIR, 21), guild_id=77, age_restricted=False, top=12)
    assert own.searched == 7 and "Mine" in {item.character for item in own.references}


async def test_block_measure_is_the_fitted_metric_over_references(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", tagger="palette", recognition=RecognitionSettings(), _env_file=None)
    services = await open_services(settings)
    try:
        for seed in (1, 2):
            await services.enrollment.enroll_approved("Alice", picture(BLONDE, seed))
            await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, seed))
        query = picture(BLUE_HAIR, 30)
        analysis = await services.analyzer.analyze(InferenceJob(image=query, detect_faces=False))
        whole = analysis.whole
        search = reference_search(services.gallery, whole.tag_probs, guild_id=None, blocks=whole.blocks)
        index = services.gallery.blocks
        assert index is not None and search.measure == "blocks"
        fitted = index.fitted()
        profiles = [
            {name: fitted[name].transform(vector) for name, vector in blocks.items() if name in fitted}
            for blocks in (services.gallery._table.views(i)[0] for i in search.reference_ids)
        ]
        tags = services.gallery.vocabulary.select(whole.tag_probs)
        expected = index.scores({**whole.blocks, TAGS_BLOCK: tags}, profiles).combined
        assert np.allclose(search.distances(), expected)
        result = await services.similar.similar(query, guild_id=None, age_restricted=False)
        assert result.measure == "blocks" and result.references[0].character == "Bea"
    finally:
        await services.close()
