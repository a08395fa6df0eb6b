"""`identify`: who is in this picture, region by region, with distances, confidences and an explicit unknown."""

from __future__ import annotations

from bot.analysis import Analyzer, ImageAnalysis, InferenceJob, RegionAnalysis
from bot.gallery import Gallery
from bot.services.results import IdentifyResult, Match, RegionResult
from models.errors import ModelUnavailable


def check_same_tagger(analysis: ImageAnalysis, gallery: Gallery) -> None:
    """Refuse to compare vectors of two different models (the gallery would be meaningless)."""
    if analysis.tagger != gallery.tagger:
        raise ModelUnavailable(
            "The image was analysed by a different model than the gallery uses; restart the bot or run "
            "`waifu-bot reindex`.",
            detail=f"analysis tagger {analysis.tagger}, gallery tagger {gallery.tagger}",
        )


class IdentifyService:
    """Ranks the gallery's characters for each region of a picture."""

    def __init__(self, analyzer: Analyzer, gallery: Gallery, *, top_k: int = 3) -> None:
        self.analyzer = analyzer
        self.gallery = gallery
        self.top_k = top_k

    async def identify(self, image: bytes, *, guild_id: int | None = None, top: int | None = None) -> IdentifyResult:
        """Analyse the picture (off the event loop) and rank characters visible from the guild."""
        analysis = await self.analyzer.analyze(InferenceJob(image=image))
        return self.identify_analysis(analysis, guild_id=guild_id, top=top)

    def identify_analysis(
        self, analysis: ImageAnalysis, *, guild_id: int | None = None, top: int | None = None
    ) -> IdentifyResult:
        """Rank an already analysed picture (used by `eval`, which analyses each image only once)."""
        check_same_tagger(analysis, self.gallery)
        limit = max(1, top or self.top_k)
        regions = tuple(self._region(region, guild_id, limit) for region in analysis.regions)
        return IdentifyResult(regions=regions, tagger=analysis.tagger, rating=analysis.rating, notes=analysis.notes)

    def _region(self, region: RegionAnalysis, guild_id: int | None, limit: int) -> RegionResult:
        ranking = self.gallery.rank(region.tag_probs, guild_id=guild_id)
        matches = tuple(
            Match(
                character_id=candidate.character.id,
                character=candidate.character.name,
                series=candidate.character.series,
                distance=candidate.distance,
                confidence=candidate.confidence,
            )
            for candidate in ranking.candidates[:limit]
        )
        return RegionResult(box=region.box, matches=matches, unknown=ranking.unknown)
