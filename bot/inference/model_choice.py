"""Which models this process runs: the tagger folder and identity, the embedder, ONNX session options.

Resolving a choice never loads a model, so the main process of a pool (and `models list`) can ask
what is selected without paying for a session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from models.ccip import CcipMetric, load_ccip_metric
from models.download import locate_named
from models.errors import ModelUnavailable
from models.palette import PALETTE_NAME, PALETTE_VERSION, ensure_palette_tagger
from models.registry import ModelKind, cards_of_kind, is_known
from models.sessions import SessionConfig
from models.tagger import MODEL_FILE, TAGS_FILE, TagList, read_selected_tags


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
    """Map `settings.tagger` to a model directory: the palette tagger, a hub model card, or a WD-format folder."""
    choice = settings.tagger.strip()
    if choice == PALETTE_NAME:
        return TaggerLocation(ensure_palette_tagger(settings.generated_model_dir), PALETTE_NAME, PALETTE_VERSION)
    if is_known(choice):
        # A card is found in the Hugging Face cache or not at all: never a silent switch to another model.
        location = locate_named(choice, ModelKind.TAGGER, settings.model_cache_dir)
        return TaggerLocation(location.directory, location.card.name, location.version)
    directory = Path(choice).expanduser()
    if directory.is_dir():
        if not (directory / MODEL_FILE).is_file() or not (directory / TAGS_FILE).is_file():
            raise ModelUnavailable(
                f"The folder {directory} is not a WD-format tagger (it needs {MODEL_FILE} and {TAGS_FILE}).",
            )
        return TaggerLocation(directory.resolve(), directory.resolve().name, _file_digest(directory / MODEL_FILE))
    if any(separator in choice for separator in ("/", "\\")) or choice.startswith((".", "~")):
        raise ModelUnavailable(f"The tagger folder {directory} does not exist.")
    hub = ", ".join(card.name for card in cards_of_kind(ModelKind.TAGGER))
    raise ModelUnavailable(
        f"There is no tagger named {choice!r}. Use palette (built in), a hub tagger after "
        f"`waifu-bot models pull NAME` ({hub}), or a folder holding {MODEL_FILE} and {TAGS_FILE}.",
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


def embedder_identity(settings: Settings) -> str | None:
    """The identity the configured embedder's vectors carry (None when CCIP is off), without loading it."""
    if not settings.recognition.ccip:
        return None
    return locate_named(settings.recognition.embedder, ModelKind.EMBEDDER, settings.model_cache_dir).identity


def session_config(settings: Settings) -> SessionConfig:
    """ONNX session options from the settings, threads split across pool workers."""
    return SessionConfig(
        providers=tuple(settings.onnx.providers),
        intra_op_threads=settings.intra_op_threads(),
        inter_op_threads=settings.onnx.inter_op_threads,
    )


def open_embedding_metric(settings: Settings, session_config: SessionConfig) -> CcipMetric | None:
    """The configured embedder's metric when CCIP is on, else None; ModelUnavailable when not downloaded."""
    if not settings.recognition.ccip:
        return None
    location = locate_named(settings.recognition.embedder, ModelKind.EMBEDDER, settings.model_cache_dir)
    return load_ccip_metric(
        location.directory, name=location.card.name, version=location.version, session_config=session_config
    )
