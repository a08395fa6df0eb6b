"""Runs any tagger in the WD format (model.onnx + selected_tags.csv): pixels in, tag probabilities out."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from models.errors import ModelUnavailable
from models.preprocess import prepare_tagger_input
from models.sessions import SessionConfig, create_session

if TYPE_CHECKING:
    import onnxruntime as ort  # sessions come from models.sessions, which imports it when one opens

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TAGS_FILE = "selected_tags.csv"
TAG_COLUMNS = ("tag_id", "name", "category", "count")


class TagCategory(IntEnum):
    """The WD tag categories; the numbers are the ones selected_tags.csv uses."""

    GENERAL = 0
    CHARACTER = 4
    RATING = 9


@dataclass(frozen=True, eq=False)  # numpy fields: compare by identity
class TagList:
    """The tagger's vocabulary, aligned with its output columns."""

    names: tuple[str, ...]
    categories: np.ndarray
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def indices(self, category: TagCategory | int) -> np.ndarray:
        """Output columns of one category, so callers can slice ratings, characters or general tags."""
        return np.flatnonzero(self.categories == int(category))


def read_selected_tags(csv_path: Path) -> TagList:
    """Read a WD selected_tags.csv, refusing files that do not have the WD columns."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ModelUnavailable(
            f"The tag list {csv_path.name} is missing; fetch or rebuild the model and try again.",
            detail=f"no tag list at {csv_path}",
        )
    names: list[str] = []
    categories: list[int] = []
    counts: list[int] = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or any(column not in reader.fieldnames for column in TAG_COLUMNS):
            raise ModelUnavailable(
                f"The tag list {csv_path.name} is not in the WD format; fetch the model again.",
                detail=f"{csv_path} has columns {reader.fieldnames}, expected {TAG_COLUMNS}",
            )
        try:
            for row in reader:
                names.append(row["name"])
                categories.append(int(row["category"]))
                counts.append(int(row["count"]))
        except (TypeError, ValueError) as error:
            raise ModelUnavailable(
                f"The tag list {csv_path.name} is damaged; fetch the model again.",
                detail=f"{csv_path} line {reader.line_num}: {error}",
            ) from error
    if not names:
        raise ModelUnavailable(
            f"The tag list {csv_path.name} is empty; fetch the model again.", detail=f"{csv_path} has no rows"
        )
    return TagList(
        names=tuple(names),
        categories=np.asarray(categories, dtype=np.int16),
        counts=np.asarray(counts, dtype=np.int64),
    )


class Tagger:
    """A loaded WD-format tagger; tensor names and input size come from the session itself."""

    def __init__(self, session: ort.InferenceSession, tags: TagList, *, name: str, version: str) -> None:
        self.name = name
        self.version = version
        self.tags = tags
        self._session = session
        model_input = session.get_inputs()[0]
        self._input_name = model_input.name
        self._output_name = session.get_outputs()[0].name
        self.input_size = _square_nhwc_size(model_input.shape, name)
        batch = model_input.shape[0]
        self._fixed_batch = batch if isinstance(batch, int) else None
        width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(tags):
            raise _inconsistent(name, f"the model has {width} outputs but the tag list has {len(tags)} tags")

    @property
    def identity(self) -> str:
        """`name@version`: vectors from different identities must never be compared."""
        return f"{self.name}@{self.version}"

    def predict(self, image: Image.Image) -> np.ndarray:
        """Tag probabilities of one picture, float32 [n_tags]."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Tag probabilities of several pictures in one run, float32 [N, n_tags]."""
        if not images:
            return np.zeros((0, len(self.tags)), dtype=np.float32)
        batch = np.stack([prepare_tagger_input(image, self.input_size) for image in images])
        if self._fixed_batch is not None and self._fixed_batch != len(images):
            rows = [self._run(batch[i : i + 1]) for i in range(len(images))]
            probs = np.concatenate(rows)
        else:
            probs = self._run(batch)
        return probs

    def _run(self, batch: np.ndarray) -> np.ndarray:
        (output,) = self._session.run([self._output_name], {self._input_name: batch})
        probs = np.asarray(output, dtype=np.float32).reshape(len(batch), -1)
        if probs.shape[1] != len(self.tags):
            raise _inconsistent(self.name, f"the model gave {probs.shape[1]} outputs for {len(self.tags)} tags")
        return probs


def load_tagger(model_dir: Path, *, name: str, version: str, session_config: SessionConfig) -> Tagger:
    """Load a WD-format model directory, checking that the model and its tag list agree."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelUnavailable(
            f"The tagger {name} is not installed (no folder {model_dir}); fetch or build it first.",
            detail=f"missing model directory {model_dir}",
        )
    tags = read_selected_tags(model_dir / TAGS_FILE)
    session = create_session(model_dir / MODEL_FILE, session_config)
    tagger = Tagger(session, tags, name=name, version=version)
    log.info("loaded tagger %s from %s: %d tags, input %d px", tagger.identity, model_dir, len(tags), tagger.input_size)
    return tagger


def _square_nhwc_size(shape: Sequence[object], name: str) -> int:
    """The side of a [batch, side, side, 3] input; anything else is not a WD tagger."""
    if len(shape) != 4 or shape[3] != 3 or not isinstance(shape[1], int) or shape[1] != shape[2]:
        raise _inconsistent(name, f"the model input has shape {list(shape)}, expected [batch, size, size, 3]")
    return shape[1]


def _inconsistent(name: str, detail: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"The tagger {name} does not match its tag list or format; fetch or rebuild it.", detail=detail
    )
