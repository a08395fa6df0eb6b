"""Feature export (`waifu-bot embed`): the vectors the recognizer compares for a picture, block by block.

What is exported is what identify ranks: each region the gallery would rank (`comparable_regions`: the whole
picture, or each face when there are several), with its tag vector restricted to the gallery's vocabulary
(block "tags"), the feature blocks of the gallery's recipe (palette on face and head, CNN on whole and head)
and the CCIP embedding when one is made. Each block says its dimension, and the names of its dimensions
where they have names (tags, and the palette blocks' colour-region tags), so another tool can use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.recognition.analysis import ImageAnalysis
from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.gallery import Gallery
from bot.services.identify import check_same_tagger, comparable_regions
from models.blocks import PALETTE_FACE, PALETTE_HEAD
from models.geometry import Box
from models.palette import palette_tag_names

EMBEDDING_BLOCK = "ccip"
"""Name of the CCIP embedding in an export (it is not a block of the fitted metric but is compared too)."""


@dataclass(frozen=True, eq=False)
class FeatureBlock:
    """One named vector: its values and, when the dimensions have names, their names."""

    name: str
    vector: np.ndarray
    dimension_names: tuple[str, ...] | None = None

    @property
    def dims(self) -> int:
        """Its dimension."""
        return int(self.vector.size)


@dataclass(frozen=True)
class RegionFeatures:
    """The vectors of one region the recognizer ranks (box None: the whole picture)."""

    box: Box | None
    blocks: tuple[FeatureBlock, ...]


@dataclass(frozen=True)
class FeatureExport:
    """A picture's vectors and the models (and feature recipe) that made them."""

    tagger: str
    embedder: str | None
    features: str | None
    """The feature recipe's identity; None when only the tag vector is compared."""
    regions: tuple[RegionFeatures, ...]


def export_features(analysis: ImageAnalysis, gallery: Gallery) -> FeatureExport:
    """The vectors the gallery would compare for this analysis, named by block."""
    check_same_tagger(analysis, gallery)
    palette_names = tuple(palette_tag_names())
    named = {TAGS_BLOCK: gallery.vocabulary.names, PALETTE_FACE: palette_names, PALETTE_HEAD: palette_names}
    regions = []
    for region in comparable_regions(analysis, gallery):
        vectors = {TAGS_BLOCK: gallery.vocabulary.select(region.tag_probs), **region.blocks}
        if region.embedding is not None and gallery.metric is not None:
            vectors[EMBEDDING_BLOCK] = region.embedding
        blocks = []
        for name, vector in vectors.items():
            values = np.asarray(vector, dtype=np.float32).reshape(-1)
            names = named.get(name)
            blocks.append(FeatureBlock(name, values, names if names and len(names) == values.size else None))
        regions.append(RegionFeatures(region.box, tuple(blocks)))
    features = analysis.features if analysis.features == gallery.features else None
    return FeatureExport(analysis.tagger, analysis.embedder, features, tuple(regions))
