"""Fusing the models' outputs: CCIP best-k scores per character, and the tagger's own character tags.

Why best-k and not the mean: a character's references differ in outfit, pose and artist, so the mean
difference punishes a character for her most unusual references; the single nearest reference lets one
lucky look-alike win. The mean of a character's k closest references asks "do several of her
pictures look like this one?". A character with fewer than k references is scored on what she has.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.config import Settings
from models.ccip import DIFFERENCE_CHUNK, METRICS_FILE, METRICS_MODEL_FILE, read_threshold
from models.download import locate_named
from models.registry import ModelKind
from models.sessions import SessionConfig, create_session

BEST_K = 3
"""References per character whose CCIP differences are averaged into the character's score."""

_SERIES_SUFFIX = re.compile(r"^(?P<name>.+?)_\((?P<series>[^()]+)\)$")


class EmbeddingMetric(Protocol):
    """What the gallery needs of an embedder: its identity, its calibrated threshold, and differences."""

    @property
    def identity(self) -> str:
        """`name@version` of the embedder whose vectors this metric compares."""
        ...

    threshold: float

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from one embedding to many, [M]; at or below `threshold` means the same character."""
        ...


class CcipMetric:
    """Only the small CCIP metrics model, for a main process whose workers compute the embeddings."""

    def __init__(self, model_dir: Path, *, name: str, version: str, session_config: SessionConfig) -> None:
        self.name = name
        self.version = version
        self.threshold = read_threshold(Path(model_dir) / METRICS_FILE)
        self._session = create_session(Path(model_dir) / METRICS_MODEL_FILE, session_config)
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name

    @property
    def identity(self) -> str:
        """The same `name@version` the engine's embedder reports, so stored vectors line up."""
        return f"{self.name}@{self.version}"

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Differences from one embedding to many, in chunks (the metrics model is pairwise)."""
        references = np.asarray(references, dtype=np.float32)
        query_row = np.asarray(query, dtype=np.float32).reshape(1, -1)
        parts = []
        for start in range(0, len(references), DIFFERENCE_CHUNK):
            stack = np.ascontiguousarray(np.concatenate([query_row, references[start : start + DIFFERENCE_CHUNK]]))
            (output,) = self._session.run([self._output], {self._input: stack})
            parts.append(np.asarray(output, dtype=np.float32).reshape(len(stack), len(stack))[0, 1:])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def open_embedding_metric(settings: Settings, session_config: SessionConfig) -> CcipMetric | None:
    """The configured embedder's metric when CCIP is on, else None; ModelUnavailable when not downloaded."""
    if not settings.recognition.ccip:
        return None
    location = locate_named(settings.recognition.embedder, ModelKind.EMBEDDER, settings.model_cache_dir)
    return CcipMetric(
        location.directory, name=location.card.name, version=location.version, session_config=session_config
    )


def best_k_scores(differences: np.ndarray, owners: np.ndarray, k: int = BEST_K) -> dict[int, float]:
    """Per owner (character id): the mean of its k smallest differences (all of them when it has fewer)."""
    differences = np.asarray(differences, dtype=np.float64)
    owners = np.asarray(owners)
    scores: dict[int, float] = {}
    for owner in np.unique(owners):
        own = np.sort(differences[owners == owner])[: max(1, k)]
        scores[int(owner)] = float(own.mean())
    return scores


def difference_to_confidence(values: np.ndarray, threshold: float) -> np.ndarray:
    """Map CCIP scores to [0, 1]: 1 at 0, 0.5 at the model's threshold, towards 0 beyond."""
    ratio = np.maximum(np.asarray(values, dtype=np.float64), 0.0) / max(threshold, 1e-9)
    return (1.0 / (1.0 + np.square(ratio))).astype(np.float32)


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


def name_key(name: str) -> str:
    """A comparable form of a name: NFKC, casefolded, underscores and runs of spaces as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).replace("_", " ").split()).casefold()


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
