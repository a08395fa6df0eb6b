"""Turns image bytes into an `ImageAnalysis` in this process; the pool's workers build the same engine."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np

from bot.analysis import ImageAnalysis, InferenceJob, RegionAnalysis
from bot.config import Settings
from models.errors import ModelUnavailable
from models.intake import load_image
from models.palette import PALETTE_NAME, PALETTE_VERSION, ensure_palette_tagger
from models.sessions import SessionConfig
from models.tagger import MODEL_FILE, TAGS_FILE, TagCategory, Tagger, TagList, load_tagger, read_selected_tags


@dataclass(frozen=True)
class TaggerLocation:
    """Where a tagger's files are and the identity its vectors carry."""

    directory: Path
    name: str
    version: str

    @property
    def identity(self) -> str:
        """`name@version`, the same string `Tagger.identity` gives once loaded."""
        return f"{self.name}@{self.version}"


def resolve_tagger_dir(settings: Settings) -> TaggerLocation:
    """Map `settings.tagger` to a model directory: the built-in palette tagger or a WD-format folder."""
    choice = settings.tagger.strip()
    if choice == PALETTE_NAME:
        return TaggerLocation(ensure_palette_tagger(settings.generated_model_dir), PALETTE_NAME, PALETTE_VERSION)
    directory = Path(choice).expanduser()
    if directory.is_dir():
        if not (directory / MODEL_FILE).is_file() or not (directory / TAGS_FILE).is_file():
            raise ModelUnavailable(
                f"The folder {directory} is not a WD-format tagger (it needs {MODEL_FILE} and {TAGS_FILE}).",
            )
        return TaggerLocation(directory.resolve(), directory.resolve().name, _file_digest(directory / MODEL_FILE))
    raise ModelUnavailable(
        f"The tagger {choice!r} is not available here; run `waifu-bot models pull {choice}` first, "
        f"or use --tagger palette.",
    )


def _file_digest(path: Path) -> str:
    """A short content hash, so two different models in same-named folders never share an identity."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def read_tagger_tags(settings: Settings) -> tuple[str, TagList]:
    """The tagger's identity and tag list without opening a session (the main process of a pool needs them)."""
    location = resolve_tagger_dir(settings)
    return location.identity, read_selected_tags(location.directory / TAGS_FILE)


def session_config(settings: Settings) -> SessionConfig:
    """ONNX session options from the settings, threads split across pool workers."""
    return SessionConfig(
        providers=tuple(settings.onnx.providers),
        intra_op_threads=settings.intra_op_threads(),
        inter_op_threads=settings.onnx.inter_op_threads,
    )


class RecognitionEngine:
    """Owns the loaded models and the intake limits; synchronous, so it runs in a thread or a worker."""

    def __init__(self, tagger: Tagger, *, max_pixels: int, max_bytes: int | None) -> None:
        self.tagger = tagger
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes
        self._rating_columns = tagger.tags.indices(TagCategory.RATING)

    @property
    def tagger_identity(self) -> str:
        """Identity of the vectors this engine produces."""
        return self.tagger.identity

    def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Decode within the limits, run the tagger, hash the picture; raises `ImageRejected` for bad input."""
        loaded = load_image(job.image, max_pixels=self.max_pixels, max_bytes=self.max_bytes)
        tag_probs = np.asarray(self.tagger.predict(loaded.image), dtype=np.float32)
        notes: list[str] = []
        if loaded.frame_count > 1:
            notes.append(f"animated image: used the first of {loaded.frame_count} frames")
        width, height = loaded.image.size
        return ImageAnalysis(
            tagger=self.tagger.identity,
            embedder=None,
            whole=RegionAnalysis(box=None, tag_probs=tag_probs),
            width=width,
            height=height,
            frame_count=loaded.frame_count,
            phash=str(imagehash.phash(loaded.image)),
            rating=self._rating(tag_probs),
            notes=tuple(notes),
        )

    def _rating(self, tag_probs: np.ndarray) -> str | None:
        if self._rating_columns.size == 0:
            return None
        best = self._rating_columns[int(np.argmax(tag_probs[self._rating_columns]))]
        return self.tagger.tags.names[best]


def create_engine(settings: Settings) -> RecognitionEngine:
    """Build the engine a process needs from its settings (top-level so pool workers can call it)."""
    location = resolve_tagger_dir(settings)
    tagger = load_tagger(
        location.directory, name=location.name, version=location.version, session_config=session_config(settings)
    )
    return RecognitionEngine(tagger, max_pixels=settings.images.max_pixels, max_bytes=settings.images.max_bytes)


class LocalAnalyzer:
    """The in-process `Analyzer`: the engine runs in a thread so the event loop never blocks on a model."""

    def __init__(self, engine: RecognitionEngine) -> None:
        self.engine = engine

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Analyse one image off the event loop."""
        return await asyncio.to_thread(self.engine.analyze, job)

    async def close(self) -> None:
        """Nothing to release: the session is freed with the engine."""
