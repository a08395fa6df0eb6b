"""`identify`: who is in this picture, region by region, with distances, confidences and an explicit unknown.

Two sources speak: the gallery (enrolled references, ranked by CCIP or tag profile) and the tagger
itself, whose character tags name characters nobody enrolled ("zero-enrollment" matches). A character
both name appears once. Matches are ordered by confidence, so the more certain source leads.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob, RegionAnalysis
from bot.recognition.cutoff import UNCALIBRATED_NOTE
from bot.recognition.gallery import Gallery
from bot.recognition.ranking import SHOWN, RankedCharacter, Ranking, RankingSnapshot
from bot.recognition.tagger_characters import ModelCharacter, model_characters
from bot.services.results import IdentifyResult, Match, RegionResult
from bot.store.names import name_key
from models.errors import ModelUnavailable

log = logging.getLogger(__name__)


def check_same_tagger(analysis: ImageAnalysis, gallery: Gallery) -> None:
    """Refuse to compare vectors of two different models (the gallery would be meaningless)."""
    if gallery.models.accepts(analysis.tagger, analysis.embedder):
        return
    detail = f"analysis {analysis.tagger} / {analysis.embedder}, gallery {gallery.models}"
    # The fix is an operator's (restart with the gallery's models, or `waifu-bot reindex` after a change),
    # so the log says it and the member only learns that it is not theirs to fix.
    log.warning("models differ (%s): restart the bot or run `waifu-bot reindex`", detail)
    raise ModelUnavailable(
        "The bot's models changed and its gallery has not caught up yet; an operator has to update it. "
        "Please try again later.",
        detail=detail,
    )


def job_owner(user_id: int | None) -> str | None:
    """The pool's submitter key for a Discord user (None: nobody in particular, such as the CLI)."""
    return None if user_id is None else f"user:{user_id}"


def comparable_regions(analysis: ImageAnalysis, gallery: Gallery) -> tuple[RegionAnalysis, ...]:
    """The regions to rank, without their feature blocks when another recipe made them than the gallery's."""
    if analysis.features == gallery.features:
        return analysis.regions
    return tuple(replace(region, blocks={}) for region in analysis.regions)


_BACKGROUND_REFITS: dict[int, asyncio.Task[None]] = {}
"""The refit running in the background for a large gallery (by id of its block index): at most one each."""


async def refit_off_loop(gallery: Gallery) -> None:
    """Refit the block metric in a worker thread after a change, so an approval never stalls the event loop.

    A small gallery's refit (see `BlockIndex.cheap`) is awaited, so the next answer uses the exact fit; a large
    one's runs in the background while the fit in hand serves (approved characters' rows are already
    re-whitened with it), and is installed when done.
    """
    index = gallery.blocks
    if index is None or not index.stale:
        return
    if index.cheap or index.generation == 0 or not index.has_fit:
        index.install(await asyncio.to_thread(index.prepare_refit()))
        return
    key = id(index)
    if key in _BACKGROUND_REFITS:
        return

    async def refit() -> None:
        index.install(await asyncio.to_thread(index.prepare_refit()))

    task = asyncio.create_task(refit())
    _BACKGROUND_REFITS[key] = task
    task.add_done_callback(lambda done: _refit_done(key, done))


def _refit_done(key: int, task: asyncio.Task[None]) -> None:
    _BACKGROUND_REFITS.pop(key, None)
    if not task.cancelled() and task.exception() is not None:
        log.error("background refit of the block metric failed", exc_info=task.exception())


def finish(snapshot: RankingSnapshot) -> Ranking:
    """Rank, and order the leaders here rather than on the loop (a lazy ranking orders them at first read)."""
    ranking = snapshot.rank()
    ranking.candidates[:SHOWN]
    return ranking


async def rank_region(
    gallery: Gallery, region: RegionAnalysis, *, guild_id: int | None = None, exhaustive: bool = False
) -> Ranking:
    """The gallery's ranking of one region, by its embedding when it has one; the metric model runs off the loop.

    The snapshot is taken here, on the event loop, where the gallery changes; only the finished snapshot
    goes to a worker thread, so the thread never reads the gallery while an approval edits it. A face crop
    (`box` set) meets the references' face embeddings, the whole picture their whole ones (face_matching.py).
    `exhaustive` ranks every character exactly (whynot's question), never from an approximate shortlist.
    """
    await refit_off_loop(gallery)
    take = gallery.face_snapshot if region.box is not None else gallery.snapshot
    snapshot = take(region.tag_probs, guild_id=guild_id, embedding=region.embedding, blocks=region.blocks)
    if exhaustive and snapshot.references is not None:
        snapshot = replace(snapshot, references=snapshot.references.exact())
    if snapshot.calls_model or snapshot.heavy:
        return await asyncio.to_thread(finish, snapshot)
    return snapshot.rank()


class IdentifyService:
    """Ranks the gallery's characters for each region of a picture, with the tagger's own names added."""

    def __init__(self, analyzer: Analyzer, gallery: Gallery, *, top_k: int = 3) -> None:
        self.analyzer = analyzer
        self.gallery = gallery
        self.top_k = top_k

    async def identify(
        self, image: bytes, *, guild_id: int | None = None, top: int | None = None, owner: int | None = None
    ) -> IdentifyResult:
        """Analyse the picture (off the event loop) and rank characters visible from the guild.

        `owner` is who asked (a Discord user id): the pool holds only so many of one person's pictures at once.
        """
        analysis = await self.analyzer.analyze(InferenceJob(image=image, owner=job_owner(owner)))
        return await self.identify_analysis(analysis, guild_id=guild_id, top=top)

    async def identify_analysis(
        self, analysis: ImageAnalysis, *, guild_id: int | None = None, top: int | None = None
    ) -> IdentifyResult:
        """Rank an already analysed picture (used by `eval`, which analyses each image only once)."""
        check_same_tagger(analysis, self.gallery)
        limit = max(1, top or self.top_k)
        regions = tuple(
            [await self._region(region, guild_id, limit) for region in comparable_regions(analysis, self.gallery)]
        )
        notes = (*analysis.notes, UNCALIBRATED_NOTE) if self.gallery.cutoff.missing else analysis.notes
        return IdentifyResult(regions=regions, tagger=analysis.tagger, rating=analysis.rating, notes=notes)

    async def _region(self, region: RegionAnalysis, guild_id: int | None, limit: int) -> RegionResult:
        ranking = await rank_region(self.gallery, region, guild_id=guild_id)
        matches = [_gallery_match(candidate) for candidate in ranking.candidates[:limit]]
        vocabulary = self.gallery.vocabulary
        named = model_characters(
            region.tag_probs,
            vocabulary.character_indices,
            vocabulary.character_names,
            vocabulary.character_threshold_for(region.tag_probs),
        )
        for model_character in named:
            matches = _merge(matches, model_character, ranking)
        matches.sort(key=lambda match: -match.confidence)
        return RegionResult(box=region.box, matches=tuple(matches[:limit]), unknown=ranking.unknown and not named)


def _gallery_match(candidate: RankedCharacter) -> Match:
    return Match(
        character_id=candidate.character.id,
        character=candidate.character.name,
        series=candidate.character.series,
        distance=candidate.distance,
        confidence=candidate.confidence,
    )


def _merge(matches: list[Match], named: ModelCharacter, ranking: Ranking) -> list[Match]:
    """Add one model-named character, merged into its gallery namesake when the gallery has one."""
    wanted = name_key(named.name)
    namesake = next(
        (
            candidate
            for candidate in ranking.candidates
            if wanted in {name_key(candidate.character.name), *map(name_key, candidate.character.aliases)}
        ),
        None,
    )
    if namesake is not None:
        for index, match in enumerate(matches):
            if match.character_id == namesake.character.id:
                merged = replace(
                    match, confidence=max(match.confidence, named.probability), model_probability=named.probability
                )
                return [*matches[:index], merged, *matches[index + 1 :]]
        return [
            *matches,
            Match(
                character_id=namesake.character.id,
                character=namesake.character.name,
                series=namesake.character.series,
                distance=namesake.distance,
                confidence=named.probability,
                source="model",
                model_probability=named.probability,
            ),
        ]
    return [
        *matches,
        Match(
            character_id=None,
            character=named.name,
            series=named.series,
            distance=1.0 - named.probability,
            confidence=named.probability,
            source="model",
            model_probability=named.probability,
        ),
    ]
