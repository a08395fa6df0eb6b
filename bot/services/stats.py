"""Statistics of a gallery for /stats and `waifu-bot stats`: how well taught the bot is, and where it is weakest."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.recognition.gallery import Gallery
from bot.store.corrections import Confusion
from bot.store.repository import CharacterStore

CONFUSION_WINDOW = timedelta(days=30)
"""How far back "most confused in recent answers" looks."""
BUCKETS = ((0, 0), (1, 1), (2, 4), (5, 9), (10, 19), (20, 49), (50, None))
"""Histogram bins of references per character: (low, high), high None for "and more"."""


@dataclass(frozen=True)
class GalleryStats:
    """What /stats and the CLI show; plain values only."""

    characters: int
    references: int
    minimum: int
    median: float
    maximum: int
    histogram: tuple[tuple[str, int], ...]
    """(bin label, characters), every bin, in order."""
    pending: int
    oldest_pending_age: timedelta | None
    other_model: int
    contributors: tuple[tuple[int, int], ...]
    """(user id, approved submissions), most first."""
    weakest: tuple[tuple[str, int], ...]
    """(character, approved references), fewest first."""
    confused: tuple[Confusion, ...] = ()
    """Characters answers named that people corrected with "Not right?" within `window`, most often first."""
    window: timedelta = CONFUSION_WINDOW


def histogram(counts: list[int]) -> tuple[tuple[str, int], ...]:
    """How many characters have how many references, in the fixed bins."""
    bins = []
    for low, high in BUCKETS:
        label = f"{low}+" if high is None else (str(low) if low == high else f"{low}-{high}")
        bins.append((label, sum(1 for count in counts if count >= low and (high is None or count <= high))))
    return tuple(bins)


async def gallery_stats(
    store: CharacterStore,
    gallery: Gallery,
    *,
    guild_id: int | None = None,
    all_scopes: bool = False,
    weakest: int = 5,
    now: datetime | None = None,
) -> GalleryStats:
    """The statistics of the scope a guild sees (or, with `all_scopes`, of everything), for the gallery's models."""
    counted = await store.statistics(
        tagger=gallery.tagger, embedder=gallery.embedder, guild_id=guild_id, all_scopes=all_scopes
    )
    counts = [count for _, count in counted.references_per_character]
    now = now or datetime.now(UTC)
    age = None
    if counted.oldest_pending is not None:
        age = now - counted.oldest_pending
    confused = await store.most_confused(
        since=now - CONFUSION_WINDOW, guild_id=guild_id, all_scopes=all_scopes, limit=weakest
    )
    return GalleryStats(
        characters=len(counts),
        references=sum(counts),
        minimum=min(counts, default=0),
        median=float(statistics.median(counts)) if counts else 0.0,
        maximum=max(counts, default=0),
        histogram=histogram(counts),
        pending=counted.pending,
        oldest_pending_age=age,
        other_model=counted.other_model,
        contributors=counted.contributors,
        weakest=counted.references_per_character[:weakest],
        confused=confused,
    )


def age_text(age: timedelta | None) -> str:
    """A queue age a person reads at a glance: minutes, hours or days."""
    if age is None:
        return "none waiting"
    seconds = max(0, int(age.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
