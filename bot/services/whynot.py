"""`whynot`: why a picture is (or is not) a given character, as signed tag evidence a person can check.

The rank and distance are the identify ranking's (CCIP or the fitted block metric); the named evidence is the tag
profile's, because a person can check "blonde hair" but not a 1024-d difference; each block's share of
the distance gap ("face colours", "head shape features") comes with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import NotFound
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from bot.recognition.blocks import BLOCK_LABELS
from bot.recognition.gallery import Gallery
from bot.recognition.ranking import RankedCharacter, TagEvidence
from bot.services.identify import check_same_tagger, comparable_regions, job_owner, rank_region
from bot.services.names import resolve_character
from bot.services.results import Evidence, WhyNotResult
from bot.store.records import CharacterRecord
from bot.store.repository import CharacterStore


class WhyNotService:
    """Explains the ranking of one named character against a picture."""

    def __init__(
        self, store: CharacterStore, analyzer: Analyzer, gallery: Gallery, *, evidence_per_side: int = 6
    ) -> None:
        self.store = store
        self.analyzer = analyzer
        self.gallery = gallery
        self.evidence_per_side = evidence_per_side

    async def whynot(
        self, image: bytes, character_name: str, *, guild_id: int | None = None, owner: int | None = None
    ) -> WhyNotResult:
        """Resolve the name first (a typo should not cost an inference), then analyse and explain for `owner`."""
        character = await resolve_character(self.store, character_name, guild_id=guild_id)
        self._require_references(character, guild_id)
        analysis = await self.analyzer.analyze(InferenceJob(image=image, owner=job_owner(owner)))
        return await self.explain(analysis, character, guild_id=guild_id)

    async def explain(
        self, analysis: ImageAnalysis, character: CharacterRecord, *, guild_id: int | None = None
    ) -> WhyNotResult:
        """The evidence for the region where the character ranks best (the whole picture when no faces)."""
        check_same_tagger(analysis, self.gallery)
        self._require_references(character, guild_id)
        best: WhyNotResult | None = None
        for region in comparable_regions(analysis, self.gallery):
            ranking = await rank_region(self.gallery, region, guild_id=guild_id, exhaustive=True)
            rank = ranking.position_of(character.id)
            if rank is None:
                continue
            own = ranking.candidates[rank - 1]
            leader = ranking.candidates[0]
            rival = _rival(ranking.candidates, rank)
            evidence = self._strongest(
                self.gallery.evidence(
                    region.tag_probs, character.id, guild_id=guild_id, versus=rival.id if rival else None
                )
            )
            shares = (
                self.gallery.block_shares(region.tag_probs, region.blocks, character.id, rival.id, guild_id)
                if rival is not None
                else {}
            )
            result = WhyNotResult(
                character=character.name,
                character_id=character.id,
                rank=rank,
                candidates=len(ranking.candidates),
                distance=own.distance,
                confidence=own.confidence,
                best_match=leader.character.name,
                best_distance=leader.distance,
                evidence=evidence,
                box=region.box,
                measure=ranking.measure,
                tag_distance=own.tag_distance,
                compared_with=rival.name if rival else None,
                block_shares=tuple((BLOCK_LABELS.get(name, name), share) for name, share in shares.items()),
                rating=analysis.rating,
            )
            if best is None or (result.rank, result.distance) < (best.rank, best.distance):
                best = result
        if best is None:
            raise NotFound(f"{character.name} has no approved references here yet, so there is nothing to compare.")
        return best

    def _strongest(self, evidence: list[TagEvidence]) -> tuple[Evidence, ...]:
        """The strongest tags for and the strongest against (so neither side hides the other), by |weight|."""
        supporting = [item for item in evidence if item.weight > 0][: self.evidence_per_side]
        opposing = [item for item in evidence if item.weight < 0][: self.evidence_per_side]
        chosen = sorted(supporting + opposing, key=lambda item: -abs(item.weight))
        return tuple(chosen)

    def _require_references(self, character: CharacterRecord, guild_id: int | None) -> None:
        if not self.gallery.has_character(character.id, guild_id=guild_id):
            raise NotFound(
                f"{character.name} has no approved references here yet; enroll a few pictures of them first."
            )


def _rival(candidates: Sequence[RankedCharacter], rank: int) -> CharacterRecord | None:
    """Whom to contrast with: the best match, or the runner-up when the named character is the best match."""
    if rank > 1:
        return candidates[0].character
    return candidates[1].character if len(candidates) > 1 else None
