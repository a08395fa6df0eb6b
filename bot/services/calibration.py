"""`waifu-bot eval --calibrate`: a tagger's own "unknown" cutoff, measured on a labelled folder and stored per tagger.

Known: with every character enrolled, each query's best distance (the verdict distance of its closest character,
on the gallery's measure: fitted blocks or tag profile). The cutoff is the least of them that still answers
`KEPT` of the known queries. Absent: leave-one-character-out, as bot/services/unknown_rate.py does; a
character's references leave the gallery, its queries' best distances to the others are compared with the cutoff,
and the share beyond it is that character's rejection; the rate is the mean over characters. The analyses are the
evaluation's own. With CCIP the embedder's threshold decides "unknown", so there is nothing to calibrate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.app import Services
from bot.config import Settings
from bot.recognition.analysis import ImageAnalysis
from bot.recognition.cutoff import cutoff_measure
from bot.recognition.gallery import Gallery
from bot.services.identify import refit_off_loop
from bot.store.records import ReferenceStatus
from bot.store.repository import CharacterStore
from models.errors import UserFacingError

KEPT = 0.9
"""Share of known characters' queries the calibrated cutoff still answers."""


@dataclass(frozen=True)
class Calibration:
    """What `--calibrate` measured for one tagger on one measure."""

    tagger: str
    measure: str
    distance: float
    """The cutoff: beyond it the best match is "unknown"."""
    kept: float
    """Share of known queries at or below `distance`: `KEPT`, or a little more when it falls between two queries."""
    absent_rejected: float | None
    """Mean share of an absent character's queries beyond `distance` (None: no character had queries)."""
    queries: int


def refuse_with_embedder(settings: Settings) -> None:
    """`--calibrate` measures the tag or block cutoff; with CCIP on, its model's own threshold decides instead."""
    if settings.recognition.ccip:
        raise UserFacingError(
            "--calibrate measures the tagger's unknown cutoff, used when CCIP is off; with CCIP on, the embedder's "
            "own threshold decides. Run it with recognition.ccip off."
        )


async def best_distance(gallery: Gallery, analysis: ImageAnalysis) -> float | None:
    """The verdict distance of the query's closest character (None when the gallery has none)."""
    await refit_off_loop(gallery)
    snapshot = gallery.snapshot(analysis.whole.tag_probs, blocks=analysis.whole.blocks)
    characters, distances, verdict = snapshot.resolved()
    if not len(characters):
        return None
    decides = verdict if verdict is not None else distances
    return float(np.asarray(decides)[int(np.argmin(distances))])  # the ranking's first, as `rank`


async def _distances(gallery: Gallery, analyses: Sequence[ImageAnalysis]) -> np.ndarray:
    found = [await best_distance(gallery, analysis) for analysis in analyses]
    return np.asarray([value for value in found if value is not None], dtype=np.float64)


async def calibrate(
    services: Services,
    queries: Mapping[str, Sequence[Path]],
    analyses: Mapping[Path, ImageAnalysis | UserFacingError],
    folders: Mapping[int, str],
    *,
    kept: float = KEPT,
) -> Calibration | None:
    """The cutoff keeping `kept` of the known queries, and the absent rejection at it.

    None with fewer than three characters (one left out leaves too little to measure rejection on) or no queries.
    """
    if len(folders) < 3:
        return None
    gallery = services.gallery
    usable = {
        name: [a for a in (analyses[path] for path in paths) if isinstance(a, ImageAnalysis)]
        for name, paths in queries.items()
    }
    known = await _distances(gallery, [analysis for found in usable.values() for analysis in found])
    if not known.size:
        return None
    distance = float(np.quantile(known, kept, method="inverted_cdf"))  # the least distance answering `kept`
    rates = []
    for character_id, name in folders.items():
        record = await services.store.get_character(character_id)
        references = await services.store.list_references(
            status=ReferenceStatus.APPROVED, character_id=character_id, all_scopes=True
        )
        gallery.remove_character(character_id)
        try:
            absent = await _distances(gallery, usable.get(name, []))
        finally:
            for reference in references:
                gallery.add(record, reference)
        if absent.size:
            rates.append(float(np.mean(absent > distance)))
    return Calibration(
        tagger=gallery.tagger,
        measure=cutoff_measure(gallery.blocks is not None),
        distance=distance,
        kept=float(np.mean(known <= distance)),
        absent_rejected=float(np.mean(rates)) if rates else None,
        queries=int(known.size),
    )


async def save_calibration(settings: Settings, calibration: Calibration) -> None:
    """Store the cutoff in the bot's own database (not the evaluation's scratch one); galleries read it at load."""
    store = await CharacterStore.open(settings.resolved_database_url(), reference_dir=settings.reference_dir)
    try:
        await store.save_unknown_cutoff(
            calibration.tagger,
            calibration.measure,
            distance=calibration.distance,
            acceptance=calibration.kept,
            absent_rejected=calibration.absent_rejected,
            queries=calibration.queries,
        )
    finally:
        await store.close()
