"""Named model cards: what each hub model is, where it lives, what it needs, and how to feed it.

A card is the one place that knows a model's repository, files, licence and preprocessing, so the
downloader, the loaders and `waifu-bot models list` never disagree. Facts were checked against the
model repositories and deepghs/imgutils (the reference consumer of these ONNX files); see the
README's model table for sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from types import MappingProxyType

from models.errors import ModelUnavailable


class ModelKind(StrEnum):
    """What a model produces: tag probabilities, a character embedding, or boxes."""

    TAGGER = "tagger"
    EMBEDDER = "embedder"
    DETECTOR = "detector"


class Preprocessing(StrEnum):
    """The exact pixel pipeline a model family was trained with; each id has one implementation."""

    WD_TAGGER = "wd"
    """Centred white square pad, BICUBIC resize, BGR, float32 0..255, NHWC (models/preprocess.py)."""
    CCIP = "ccip"
    """BILINEAR stretch to 384x384 (no pad), RGB /255, CLIP mean/std, NCHW (models/ccip.py)."""
    YOLO = "yolo"
    """Stretch (or letterbox) to the metadata `imgsz`, RGB /255, NCHW (models/face_detector.py)."""


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to fetch, verify and describe one hub model."""

    name: str
    kind: ModelKind
    repo_id: str
    files: tuple[str, ...]
    """Paths inside the repository; all must sit in one folder, which becomes the model's directory."""
    licence: str
    approx_size_mb: int
    preprocessing: Preprocessing
    summary: str
    revision: str = "main"
    thresholds: Mapping[str, float] = field(default_factory=dict)
    """Values documented upstream that the code reads: WD `general`, `character`, `character_mcut_floor`
    (models.tag_thresholds), the detector's `confidence` and `iou` (models.download). CCIP has none: its
    threshold ships beside the model in metrics.json, which is always fetched and always wins."""

    @property
    def subfolder(self) -> str:
        """The folder inside the repository that holds the files ("" for the repository root)."""
        folder = str(PurePosixPath(self.files[0]).parent)
        return "" if folder == "." else folder

    @property
    def filenames(self) -> tuple[str, ...]:
        """The files' base names, as they appear in the model's directory."""
        return tuple(PurePosixPath(path).name for path in self.files)

    @property
    def pull_command(self) -> str:
        """The command a user runs to fetch this model, quoted in every 'missing model' error."""
        return f"waifu-bot models pull {self.name}"


def _frozen(values: dict[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


_WD_THRESHOLDS = _frozen({"general": 0.35, "character": 0.85, "character_mcut_floor": 0.15})
_WD_LICENCE = "Apache-2.0 (SmilingWolf); tags from Danbooru"
_WD_FILES = ("model.onnx", "selected_tags.csv")


def _wd_card(name: str, size_mb: int, summary: str) -> ModelCard:
    return ModelCard(
        name=name,
        kind=ModelKind.TAGGER,
        repo_id=f"SmilingWolf/{name}",
        files=_WD_FILES,
        licence=_WD_LICENCE,
        approx_size_mb=size_mb,
        preprocessing=Preprocessing.WD_TAGGER,
        summary=summary,
        thresholds=_WD_THRESHOLDS,
    )


CCIP_MODEL = "ccip-caformer-24-randaug-pruned"
FACE_MODEL = "face_detect_v1.4_s"

CARDS: tuple[ModelCard, ...] = (
    _wd_card("wd-swinv2-tagger-v3", 467, "WD v3 SwinV2 tagger, 448 px, ~10.8k Danbooru tags (default)"),
    _wd_card("wd-vit-tagger-v3", 378, "WD v3 ViT tagger, 448 px; a little faster than SwinV2"),
    _wd_card("wd-convnext-tagger-v3", 395, "WD v3 ConvNeXt tagger, 448 px"),
    _wd_card("wd-vit-large-tagger-v3", 1260, "WD v3 ViT-Large tagger, 448 px; as large and slow as EVA02-Large"),
    _wd_card("wd-eva02-large-tagger-v3", 1260, "WD v3 EVA02-Large tagger, 448 px; best and slowest"),
    ModelCard(
        name=CCIP_MODEL,
        kind=ModelKind.EMBEDDER,
        repo_id="deepghs/ccip_onnx",
        files=(f"{CCIP_MODEL}/model_feat.onnx", f"{CCIP_MODEL}/model_metrics.onnx", f"{CCIP_MODEL}/metrics.json"),
        licence="OpenRAIL (deepghs/ccip_onnx)",
        approx_size_mb=150,
        preprocessing=Preprocessing.CCIP,
        summary="CCIP character embedding (768-d) and its learned difference metric",
    ),
    ModelCard(
        name=FACE_MODEL,
        kind=ModelKind.DETECTOR,
        repo_id="deepghs/anime_face_detection",
        files=(f"{FACE_MODEL}/model.onnx",),
        licence="MIT (deepghs/anime_face_detection)",
        approx_size_mb=45,
        preprocessing=Preprocessing.YOLO,
        summary="YOLOv8s anime face detector; input size and labels from the ONNX metadata",
        thresholds=_frozen({"confidence": 0.25, "iou": 0.7}),
    ),
)

DEFAULT_TAGGER = "wd-swinv2-tagger-v3"
DEFAULT_EMBEDDER = CCIP_MODEL
DEFAULT_DETECTOR = FACE_MODEL
RECOMMENDED = (DEFAULT_TAGGER, DEFAULT_EMBEDDER, DEFAULT_DETECTOR)
"""What `waifu-bot models pull` fetches when given no names."""

_BY_NAME = {card.name: card for card in CARDS}


def known_names() -> tuple[str, ...]:
    """Every card name, in the order `models list` shows them."""
    return tuple(card.name for card in CARDS)


def is_known(name: str) -> bool:
    """Whether a name (for example the configured tagger) refers to a hub model card."""
    return name in _BY_NAME


def get_card(name: str) -> ModelCard:
    """The card of a model name, or a user-facing error listing the names that exist."""
    card = _BY_NAME.get(name)
    if card is None:
        raise ModelUnavailable(
            f"There is no model named {name!r}; known models: {', '.join(known_names())}.",
            detail=f"unknown model card {name!r}",
        )
    return card


def cards_of_kind(kind: ModelKind) -> tuple[ModelCard, ...]:
    """All cards that produce one kind of output, so a setting can be checked against its kind."""
    return tuple(card for card in CARDS if card.kind == kind)
