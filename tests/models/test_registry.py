"""Model cards: the facts the downloader, the loaders and `models list` rely on."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from models.errors import ModelUnavailable
from models.registry import (
    CARDS,
    DEFAULT_DETECTOR,
    DEFAULT_EMBEDDER,
    DEFAULT_TAGGER,
    RECOMMENDED,
    ModelKind,
    Preprocessing,
    cards_of_kind,
    get_card,
    is_known,
    known_names,
)


def test_names_are_unique_and_every_card_is_reachable_by_name() -> None:
    assert len(set(known_names())) == len(CARDS)
    for card in CARDS:
        assert get_card(card.name) is card and is_known(card.name)
    assert not is_known("palette")


def test_each_card_keeps_its_files_in_one_folder() -> None:
    for card in CARDS:
        folders = {str(PurePosixPath(path).parent) for path in card.files}
        assert len(folders) == 1, card.name
        assert card.approx_size_mb > 0 and card.licence and card.revision


def test_wd_taggers_match_the_smilingwolf_repositories() -> None:
    taggers = cards_of_kind(ModelKind.TAGGER)
    assert {card.repo_id for card in taggers} == {
        "SmilingWolf/wd-swinv2-tagger-v3",
        "SmilingWolf/wd-vit-tagger-v3",
        "SmilingWolf/wd-convnext-tagger-v3",
        "SmilingWolf/wd-vit-large-tagger-v3",
        "SmilingWolf/wd-eva02-large-tagger-v3",
    }
    for card in taggers:
        assert card.files == ("model.onnx", "selected_tags.csv") and card.subfolder == ""
        assert card.preprocessing is Preprocessing.WD_TAGGER
        assert card.thresholds["general"] == 0.35 and card.thresholds["character"] == 0.85
        assert card.thresholds["character_mcut_floor"] == 0.15
        assert card.licence.startswith("Apache-2.0")


def test_ccip_card_points_into_its_subfolder() -> None:
    card = get_card(DEFAULT_EMBEDDER)
    assert card.kind is ModelKind.EMBEDDER and card.repo_id == "deepghs/ccip_onnx"
    assert card.subfolder == "ccip-caformer-24-randaug-pruned"
    assert card.filenames == ("model_feat.onnx", "model_metrics.onnx", "metrics.json")
    assert dict(card.thresholds) == {}  # its threshold is the shipped metrics.json (0.178), never a card copy


def test_vit_large_card_is_a_448_px_wd_v3_tagger() -> None:
    """Upstream sw_jax_cv_config.json: image_size 448, 10861 classes; model.onnx is 1.26 GB."""
    card = get_card("wd-vit-large-tagger-v3")
    assert card.kind is ModelKind.TAGGER and card.repo_id == "SmilingWolf/wd-vit-large-tagger-v3"
    assert card.files == ("model.onnx", "selected_tags.csv") and card.approx_size_mb == 1260
    assert "448 px" in card.summary


def test_face_detector_card() -> None:
    card = get_card(DEFAULT_DETECTOR)
    assert card.kind is ModelKind.DETECTOR and card.repo_id == "deepghs/anime_face_detection"
    assert card.files == ("face_detect_v1.4_s/model.onnx",)
    assert dict(card.thresholds) == {"confidence": 0.25, "iou": 0.7}


def test_defaults_cover_one_model_of_each_kind() -> None:
    assert [get_card(name).kind for name in RECOMMENDED] == [ModelKind.TAGGER, ModelKind.EMBEDDER, ModelKind.DETECTOR]
    assert RECOMMENDED[0] == DEFAULT_TAGGER == "wd-swinv2-tagger-v3"


def test_thresholds_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        get_card(DEFAULT_TAGGER).thresholds["general"] = 0.1  # type: ignore[index]


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelUnavailable) as unknown:
        get_card("wd-nonexistent")
    assert "wd-nonexistent" in unknown.value.user_message
    assert DEFAULT_TAGGER in unknown.value.user_message


def test_pull_command_names_the_model() -> None:
    assert get_card(DEFAULT_DETECTOR).pull_command == "waifu-bot models pull face_detect_v1.4_s"
