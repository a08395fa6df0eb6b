"""Characters a WD tagger names by itself (its Danbooru character tags), as display names with a series."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_SERIES_SUFFIX = re.compile(r"^(?P<name>.+?)_\((?P<series>[^()]+)\)$")


@dataclass(frozen=True)
class ModelCharacter:
    """A character the tagger names by itself (a Danbooru character tag) with its probability."""

    tag: str
    name: str
    series: str | None
    probability: float


def character_from_tag(tag: str) -> tuple[str, str | None]:
    """'tohsaka_rin_(fate)' -> ('Tohsaka Rin', 'Fate'): a display name and the series suffix, if any."""
    found = _SERIES_SUFFIX.match(tag)
    base, series = (found["name"], found["series"]) if found else (tag, None)
    return _title(base), _title(series) if series else None


def _title(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).title()


def model_characters(
    tag_probs: np.ndarray, indices: np.ndarray, names: Sequence[str], threshold: float
) -> list[ModelCharacter]:
    """The tagger's character tags at or above the threshold, most probable first."""
    if len(indices) == 0:
        return []
    probabilities = np.asarray(tag_probs, dtype=np.float32)[indices]
    found = []
    for position in np.argsort(-probabilities, kind="stable"):
        probability = float(probabilities[position])
        if probability < threshold:
            break
        name, series = character_from_tag(names[position])
        found.append(ModelCharacter(names[position], name, series, probability))
    return found
