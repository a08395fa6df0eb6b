"""The one "vectors from the current models?" rule that the gallery, identify and reindex share."""

from __future__ import annotations

import numpy as np

from bot.recognition.identity import ModelIdentity
from tests.bot.records import approved_reference

WITH_CCIP = ModelIdentity("wd@1", "ccip@1")
TAGS_ONLY = ModelIdentity("wd@1")


def test_vectors_compare_only_with_the_same_tagger_and_the_embedder_in_use() -> None:
    assert WITH_CCIP.accepts("wd@1", "ccip@1")
    assert not WITH_CCIP.accepts("wd@2", "ccip@1")
    assert not WITH_CCIP.accepts("wd@1", "ccip@0")
    assert not WITH_CCIP.accepts("wd@1", None)
    assert TAGS_ONLY.accepts("wd@1", None) and TAGS_ONLY.accepts("wd@1", "ccip@0")  # only tags are compared
    assert not TAGS_ONLY.accepts("palette@1", None)
    assert str(WITH_CCIP) == "wd@1 / ccip@1"


def test_a_reference_without_an_embedding_has_no_embedders_vectors() -> None:
    embedded = approved_reference(1, 1, (0.5,), tagger="wd@1", embedder="ccip@1", embedding=np.ones(3))
    bare = approved_reference(2, 1, (0.5,), tagger="wd@1", embedder="ccip@1", embedding=None)
    assert WITH_CCIP.accepts_reference(embedded) and not WITH_CCIP.accepts_reference(bare)
    assert TAGS_ONLY.accepts_reference(embedded) and TAGS_ONLY.accepts_reference(bare)
