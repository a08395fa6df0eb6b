"""With the product's feature blocks, a reference is stored with its mirrored view; a query never is mirrored."""

from __future__ import annotations

from bot.app import open_services
from bot.config import RecognitionSettings, Settings
from bot.recognition.analysis import InferenceJob
from models.blocks import CNN_WHOLE, MIRROR_PREFIX
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR


async def test_an_enrolled_reference_brings_its_mirrored_view_into_the_metric(settings: Settings) -> None:
    product = settings.model_copy(update={"recognition": RecognitionSettings(feature_blocks=True)})
    services = await open_services(product)
    try:
        await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
        submitted = await services.enrollment.submit("Bea", picture(BLUE_HAIR, 2), guild_id=3, user_id=4)
        (stored,) = await services.store.list_references()
        assert MIRROR_PREFIX + CNN_WHOLE in stored.blocks and CNN_WHOLE in stored.blocks
        assert MIRROR_PREFIX + CNN_WHOLE in submitted.reference.blocks
        assert services.gallery.blocks is not None
        assert services.gallery.blocks.stats[CNN_WHOLE].total == 2  # one reference, two views
        query = await services.analyzer.analyze(InferenceJob(image=picture(BLONDE, 3)))
        assert not any(name.startswith(MIRROR_PREFIX) for name in query.whole.blocks)
    finally:
        await services.close()
