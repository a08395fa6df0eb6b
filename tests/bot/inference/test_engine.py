"""The engine: tagger resolution, analysis of real encoded pictures, ratings, and the threaded analyzer."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace

import imagehash
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from bot.config import Settings
from bot.inference.engine import (
    MIN_DRAFT_SIDE,
    WORKING_SIDE_FACTOR,
    build_recognition_engine,
    draft_side,
    scale_box,
)
from bot.inference.local import LocalAnalyzer
from bot.inference.model_choice import read_tagger_tags, resolve_tagger_dir
from bot.recognition.analysis import InferenceJob
from models.errors import ImageRejected, ModelUnavailable
from models.intake import load_image
from tests.bot.fake_models import COMMIT, publish_ccip, rating_tags, snapshot_file, write_wd_tagger
from tests.drawing import BLONDE, draw_character, encode


def write_channel_mean_tagger(directory: Path) -> Path:
    """A WD-format tagger whose outputs are the mean B, G, R of the input / 255 (ratings, then a general tag)."""
    directory.mkdir(parents=True)
    node_mean = helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2], keepdims=0)
    node_scale = helper.make_node("Div", ["mean", "scale"], ["probs"])
    graph = helper.make_graph(
        [node_mean, node_scale],
        "channel_means",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8, 8, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor("scale", TensorProto.FLOAT, [], [255.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(directory / "model.onnx"))
    with (directory / "selected_tags.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        writer.writerows([[0, "general", 9, 1], [1, "explicit", 9, 1], [2, "red_hair", 0, 1]])
    return directory


def test_palette_analysis_of_an_encoded_drawing(settings: Settings) -> None:
    engine = build_recognition_engine(settings)
    data = encode(draw_character(BLONDE, seed=3), "JPEG", quality=90)
    analysis = engine.analyze(InferenceJob(image=data))
    identity, tags = read_tagger_tags(settings)
    assert analysis.tagger == identity == engine.tagger_identity == "palette@" + identity.split("@")[1]
    assert analysis.whole.tag_probs.shape == (len(tags),)
    assert analysis.whole.tag_probs.dtype == np.float32
    assert analysis.whole.box is None and analysis.faces == ()
    assert (analysis.width, analysis.height) == (320, 320)
    assert analysis.phash == str(imagehash.phash(load_image(data).image))
    assert analysis.rating is None  # the palette tagger has no rating tags
    assert analysis.notes == ()


def test_draft_side_is_twice_the_largest_model_input_with_floors() -> None:
    tagger = SimpleNamespace(input_size=448)
    assert draft_side(tagger) == 896
    assert draft_side(SimpleNamespace(input_size=64)) == MIN_DRAFT_SIDE
    assert draft_side(tagger, SimpleNamespace(input_size=384)) == 896
    assert draft_side(tagger, None, SimpleNamespace(input_size=(640, 640))) == 1280
    assert draft_side(SimpleNamespace(input_size=64), None, SimpleNamespace(input_size=(320, 320))) == 1024


def test_scale_box_maps_draft_pixels_back_to_the_upload() -> None:
    assert scale_box((10, 20, 30, 40), (100, 50), (400, 200)) == (40, 80, 120, 160)
    assert scale_box((0, 0, 100, 50), (100, 50), (399, 201)) == (0, 0, 399, 201)


def test_a_large_jpeg_is_draft_decoded_but_reported_at_its_own_size(settings: Settings) -> None:
    engine = build_recognition_engine(settings)
    assert engine.draft == draft_side(engine.tagger)
    large = draw_character(BLONDE, seed=3).resize((2400, 1800), Image.Resampling.NEAREST)
    data = encode(large, "JPEG", quality=90)
    working_side = WORKING_SIDE_FACTOR * engine.draft
    drafted = load_image(data, draft_size=(engine.draft, engine.draft), max_side=working_side).image
    assert max(drafted.size) <= working_side  # the DCT draft, then the working-size reduction
    analysis = engine.analyze(InferenceJob(image=data))
    assert (analysis.width, analysis.height) == (2400, 1800)
    np.testing.assert_allclose(analysis.whole.tag_probs, engine.tagger.predict(drafted), atol=1e-6)
    assert analysis.phash == str(imagehash.phash(drafted))


def test_animated_pictures_say_which_frame_was_used(settings: Settings) -> None:
    frames = [draw_character(BLONDE, seed=seed) for seed in range(3)]
    buffer = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    analysis = build_recognition_engine(settings).analyze(InferenceJob(image=buffer))
    assert analysis.frame_count == 3
    assert analysis.notes == ("animated image: used the first of 3 frames",)


def test_bad_bytes_are_rejected(settings: Settings) -> None:
    with pytest.raises(ImageRejected):
        build_recognition_engine(settings).analyze(InferenceJob(image=b"GIF89a-but-nothing-else"))


def test_a_wd_folder_is_loaded_and_its_rating_reported(settings: Settings, tmp_path: Path) -> None:
    folder = write_channel_mean_tagger(tmp_path / "means")
    wd_settings = settings.model_copy(update={"tagger": str(folder)})
    location = resolve_tagger_dir(wd_settings)
    assert location.name == "means" and location.directory == folder.resolve()
    engine = build_recognition_engine(wd_settings)
    green = encode(Image.new("RGB", (16, 16), (0, 255, 0)))
    blue = encode(Image.new("RGB", (16, 16), (0, 0, 255)))
    # BGR input: column 0 reads blue, column 1 green.
    assert engine.analyze(InferenceJob(image=green)).rating == "explicit"
    assert engine.analyze(InferenceJob(image=blue)).rating == "general"
    assert engine.tagger_identity == location.identity != "palette@1"


def test_two_different_models_in_same_named_folders_have_different_identities(
    settings: Settings, tmp_path: Path
) -> None:
    first = write_channel_mean_tagger(tmp_path / "a" / "tagger")
    second = tmp_path / "b" / "tagger"
    shutil.copytree(resolve_tagger_dir(settings).directory, second)
    identities = {resolve_tagger_dir(settings.model_copy(update={"tagger": str(p)})).identity for p in (first, second)}
    assert len(identities) == 2


def test_unknown_tagger_names_the_command_that_fetches_it(settings: Settings) -> None:
    with pytest.raises(ModelUnavailable) as caught:
        resolve_tagger_dir(settings.model_copy(update={"tagger": "wd-swinv2-tagger-v3"}))
    assert "waifu-bot models pull wd-swinv2-tagger-v3" in caught.value.user_message


def test_a_folder_without_model_files_is_refused(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="WD-format"):
        resolve_tagger_dir(settings.model_copy(update={"tagger": str(tmp_path / "empty")}))


async def test_local_analyzer_gives_the_engine_result(settings: Settings) -> None:
    engine = build_recognition_engine(settings)
    analyzer = LocalAnalyzer(engine)
    data = encode(draw_character(BLONDE, seed=4))
    threaded = await analyzer.analyze(InferenceJob(image=data))
    direct = engine.analyze(InferenceJob(image=data))
    np.testing.assert_array_equal(threaded.whole.tag_probs, direct.whole.tag_probs)
    assert threaded.phash == direct.phash
    await analyzer.close()


def test_a_model_card_tagger_is_found_in_the_hub_cache(settings: Settings, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    folder = snapshot_file(cache, "wd-vit-tagger-v3", "model.onnx").parent
    weights = np.zeros((3, 6), dtype=np.float32)
    weights[2, 5] = 1 / 255  # red -> the character tag
    write_wd_tagger(folder, [*rating_tags(), ("red_hair", 0), ("hatsune_miku", 4)], weights)
    card_settings = settings.model_copy(update={"tagger": "wd-vit-tagger-v3", "model_cache_dir": cache})
    location = resolve_tagger_dir(card_settings)
    assert (location.name, location.version, location.directory) == ("wd-vit-tagger-v3", COMMIT[:12], folder)
    engine = build_recognition_engine(card_settings)
    analysis = engine.analyze(InferenceJob(image=encode(Image.new("RGB", (8, 8), (255, 0, 0)))))
    assert analysis.tagger == f"wd-vit-tagger-v3@{COMMIT[:12]}"
    assert analysis.whole.tag_probs[5] == pytest.approx(1.0)
    assert analysis.embedder is None and analysis.whole.embedding is None


def test_missing_embedder_or_detector_names_the_pull_command(settings: Settings, tmp_path: Path) -> None:
    for switch, card in (("ccip", "ccip-caformer-24-randaug-pruned"), ("face_detection", "face_detect_v1.4_s")):
        recognition = settings.recognition.model_copy(update={switch: True})
        broken = settings.model_copy(update={"recognition": recognition, "model_cache_dir": tmp_path / "empty"})
        with pytest.raises(ModelUnavailable) as caught:
            build_recognition_engine(broken)
        assert f"waifu-bot models pull {card}" in caught.value.user_message


def test_ccip_embeds_the_whole_picture_with_its_identity(settings: Settings, tmp_path: Path) -> None:
    identity = publish_ccip(tmp_path / "hub")
    recognition = settings.recognition.model_copy(update={"ccip": True})
    engine = build_recognition_engine(
        settings.model_copy(update={"recognition": recognition, "model_cache_dir": tmp_path / "hub"})
    )
    analysis = engine.analyze(InferenceJob(image=encode(draw_character(BLONDE, seed=1))))
    assert analysis.embedder == engine.embedder_identity == identity
    assert analysis.whole.embedding is not None and analysis.whole.embedding.shape == (768,)
    np.testing.assert_allclose(
        analysis.whole.embedding, engine.embedder.embed(draw_character(BLONDE, seed=1)), rtol=1e-5, atol=1e-5
    )
