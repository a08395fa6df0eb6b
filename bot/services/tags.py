"""`/tags` and `waifu-bot tags`: what the tagger sees in a picture, above its thresholds, by category.

A WD tagger has three categories: general tags (hair, clothes, pose...), its own character tags and the
rating. The offline palette tagger has only general tags, one per colour and region (`top_yellow`), so its
tags are also grouped by region. Thresholds are the model card's (WD v3: general 0.35, character 0.85), or with
`mcut` each category's MCut cutoff for the picture (characters at least the card's 0.15), as SmilingWolf's
reference offers (models.tag_thresholds); a palette tag is kept from PALETTE_THRESHOLD, where its colour
fills a sixteenth of the region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.recognition.analysis import Analyzer, InferenceJob
from bot.recognition.vocabulary import PALETTE_TAGGER_NAME
from bot.services.identify import job_owner
from models.errors import ModelUnavailable
from models.palette import FRACTION_POWER, REGIONS
from models.tag_thresholds import TagCutoff, wd_cutoffs
from models.tagger import TagCategory, TagList

PALETTE_THRESHOLD = (1 / 16) ** FRACTION_POWER
"""A palette tag is f ** FRACTION_POWER for the fraction f of its region in that colour: 0.5 is f = 1/16."""
MAX_TAGS = 60
"""Most tags of one category listed (a WD tagger can pass a hundred general tags on a busy picture)."""


@dataclass(frozen=True)
class TagScore:
    """One tag and the tagger's probability for it."""

    tag: str
    probability: float


@dataclass(frozen=True)
class TagsResult:
    """The tags above threshold per category, most likely first, and the thresholds used."""

    tagger: str
    general: tuple[TagScore, ...]
    character: tuple[TagScore, ...]
    rating: tuple[TagScore, ...]
    """The most likely rating (ratings exclude each other); empty for a tagger without ratings."""
    thresholds: tuple[tuple[str, float], ...]
    """(category, threshold) for general and character, as used on this picture."""
    palette: bool = False

    def regions(self) -> tuple[tuple[str, tuple[TagScore, ...]], ...]:
        """The palette's general tags grouped by region (whole, top, ...), tags named by colour alone."""
        if not self.palette:
            return ()
        grouped = []
        for region in REGIONS:
            prefix = f"{region}_"
            tags = tuple(
                TagScore(score.tag.removeprefix(prefix), score.probability)
                for score in self.general
                if score.tag.startswith(prefix)
            )
            if tags:
                grouped.append((region, tags))
        return tuple(grouped)


def tag_cutoffs(tagger: str, *, mcut: bool = False) -> tuple[TagCutoff, TagCutoff]:
    """(general, character) cutoffs of a tagger identity (`name@version`); the palette's are its own and fixed."""
    name = tagger.split("@", 1)[0]
    general, character = wd_cutoffs(name, mcut=mcut)
    if name == PALETTE_TAGGER_NAME:
        return TagCutoff(PALETTE_THRESHOLD), character
    return general, character


def _above(tag_list: TagList, probs: np.ndarray, category: TagCategory, threshold: float) -> tuple[TagScore, ...]:
    columns = tag_list.indices(category)
    kept = [int(column) for column in columns if probs[column] >= threshold]
    kept.sort(key=lambda column: (-float(probs[column]), tag_list.names[column]))
    return tuple(TagScore(tag_list.names[column], float(probs[column])) for column in kept[:MAX_TAGS])


class TagService:
    """Runs the tagger on a picture and reads its tags against the thresholds."""

    def __init__(self, analyzer: Analyzer, tag_list: TagList, *, tagger: str, mcut: bool = False) -> None:
        self.analyzer = analyzer
        self.tag_list = tag_list
        self.tagger = tagger
        self.general_cutoff, self.character_cutoff = tag_cutoffs(tagger, mcut=mcut)

    async def tags(self, image: bytes, *, owner: int | None = None) -> TagsResult:
        """The whole picture's tags (no face crops: tags describe the picture as posted); `owner`: who asked."""
        analysis = await self.analyzer.analyze(InferenceJob(image=image, detect_faces=False, owner=job_owner(owner)))
        if analysis.tagger != self.tagger:
            raise ModelUnavailable(
                "The bot's tagger changed since it started; an operator has to restart it. Please try again later.",
                detail=f"analysis by {analysis.tagger}, tag list of {self.tagger}",
            )
        return self.tags_of(analysis.whole.tag_probs)

    def tags_of(self, tag_probs: np.ndarray) -> TagsResult:
        """The tags of one probability vector (indexed like the tag list)."""
        probs = np.asarray(tag_probs, dtype=np.float64).reshape(-1)
        if probs.size != len(self.tag_list):
            raise ModelUnavailable(
                "The tagger's output does not match its tag list; an operator has to fetch the model again.",
                detail=f"{probs.size} probabilities for {len(self.tag_list)} tags of {self.tagger}",
            )
        ratings = _above(self.tag_list, probs, TagCategory.RATING, 0.0)
        general = self.general_cutoff.of(probs[self.tag_list.indices(TagCategory.GENERAL)])
        character = self.character_cutoff.of(probs[self.tag_list.indices(TagCategory.CHARACTER)])
        return TagsResult(
            tagger=self.tagger,
            general=_above(self.tag_list, probs, TagCategory.GENERAL, general),
            character=_above(self.tag_list, probs, TagCategory.CHARACTER, character),
            rating=ratings[:1],
            thresholds=(("general", general), ("character", character)),
            palette=self.tagger.split("@", 1)[0] == PALETTE_TAGGER_NAME,
        )
