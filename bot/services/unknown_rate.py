"""How often the bot says "unknown" for a character it has never seen: leave-one-character-out.

For each character in turn, its references leave the gallery (and the fitted metric's statistics); the
acceptance threshold is set where 95% of the remaining characters' queries are still answered; the rate is
the share of the absent character's own queries refused at that threshold. The best match's confidence is
the score, since every measure (fitted blocks, tag profile, CCIP) maps its verdict distance to confidence
monotonically. The analyses are the evaluation's own: nothing is analysed twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bot.app import Services
from bot.errors import UserFacingError
from bot.recognition.analysis import ImageAnalysis
from bot.services.identify import rank_region
from bot.store.records import ReferenceStatus

ACCEPTANCE = 0.95
"""Share of known characters' queries still answered at the threshold."""


async def best_confidences(services: Services, analyses: Sequence[ImageAnalysis]) -> np.ndarray:
    """The best match's confidence for each query (0 when the gallery has no candidate)."""
    scores = []
    for analysis in analyses:
        ranking = await rank_region(services.gallery, analysis.whole)
        scores.append(ranking.candidates[0].confidence if ranking.candidates else 0.0)
    return np.asarray(scores, dtype=np.float64)


async def unknown_rejection(
    services: Services,
    queries: Mapping[str, Sequence[Path]],
    analyses: Mapping[Path, ImageAnalysis | UserFacingError],
    folders: Mapping[int, str],
    *,
    acceptance: float = ACCEPTANCE,
) -> float | None:
    """Mean over characters of the share of an absent character's queries refused at `acceptance` of the rest.

    None with fewer than three characters (one left out leaves too little to set a threshold on).
    """
    if len(folders) < 3:
        return None
    usable = {
        name: [a for a in (analyses[path] for path in paths) if isinstance(a, ImageAnalysis)]
        for name, paths in queries.items()
    }
    rates = []
    for character_id, name in folders.items():
        record = await services.store.get_character(character_id)
        references = await services.store.list_references(
            status=ReferenceStatus.APPROVED, character_id=character_id, all_scopes=True
        )
        services.gallery.remove_character(character_id)
        try:
            known = np.concatenate(
                [await best_confidences(services, found) for other, found in usable.items() if other != name]
            )
            absent = await best_confidences(services, usable.get(name, []))
        finally:
            for reference in references:
                services.gallery.add(record, reference)
        if known.size and absent.size:
            threshold = float(np.quantile(known, 1.0 - acceptance))
            rates.append(float(np.mean(absent < threshold)))
    return float(np.mean(rates)) if rates else None
