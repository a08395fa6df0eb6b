"""Pull, locate and verify without any network.

`hf_hub_download` is replaced by a fake hub that copies files from repositories built here into the
real Hugging Face cache layout (refs/main -> snapshots/<commit>/<path>), so `locate` runs the real
`huggingface_hub.try_to_load_from_cache`. Offline mode is tested with the real `hf_hub_download`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from huggingface_hub import constants as hub_constants
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
from PIL import Image

import models.download as download
from models.errors import ModelUnavailable
from models.registry import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, DEFAULT_TAGGER, RECOMMENDED, ModelKind, get_card
from models.sessions import SessionConfig
from models.tagger import load_tagger
from tests.models.hub_graphs import (
    ccip_feature_graph,
    channel_mean_graph,
    cosine_metrics_graph,
    write_wd_tags,
    yolo_graph,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
N_TAGS = 12


class FakeHub:
    """Serves files from local repository folders into a Hugging Face cache folder, recording calls."""

    def __init__(self, repos: Path) -> None:
        self.repos = repos
        self.calls: list[tuple[str, str, bool]] = []

    def file(self, repo_id: str, path: str) -> Path:
        target = self.repos / repo_id / path
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def hf_hub_download(self, repo_id: str, filename: str, *, revision=None, cache_dir=None, force_download=False):
        self.calls.append((repo_id, filename, force_download))
        source = self.repos / repo_id / filename
        if not source.is_file():
            raise EntryNotFoundError(f"{repo_id}/{filename} not found")
        repo_cache = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
        (repo_cache / "refs").mkdir(parents=True, exist_ok=True)
        (repo_cache / "refs" / (revision or "main")).write_text(COMMIT)
        target = repo_cache / "snapshots" / COMMIT / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)


def _publish_fake_models(hub: FakeHub) -> None:
    """The three recommended models, as small graphs with the real signatures."""
    tagger = get_card(DEFAULT_TAGGER)
    weights = np.zeros((3, N_TAGS), dtype=np.float32)
    weights[:, :4] = 0.25 / (3 * 255)  # a white picture: each rating 0.25, summing to 1
    channel_mean_graph(
        hub.file(tagger.repo_id, "model.onnx"),
        input_name="nhwc_in",
        output_name="probs_out",
        input_shape=["batch", 448, 448, 3],
        axes=[1, 2],
        weights=weights,
    )
    write_wd_tags(hub.file(tagger.repo_id, "selected_tags.csv"), N_TAGS, n_characters=3)
    ccip = get_card(DEFAULT_EMBEDDER)
    feat, metrics_model, metrics = (hub.file(ccip.repo_id, path) for path in ccip.files)
    ccip_feature_graph(feat)
    cosine_metrics_graph(metrics_model)
    metrics.write_text(json.dumps({"threshold": 0.17847511429108218}))
    face = get_card(DEFAULT_DETECTOR)
    boxes = np.asarray([[320.0], [320.0], [64.0], [64.0]])
    yolo_graph(hub.file(face.repo_id, face.files[0]), boxes, np.asarray([[0.9]]))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    fake = FakeHub(tmp_path / "repos")
    _publish_fake_models(fake)
    monkeypatch.setattr(download, "hf_hub_download", fake.hf_hub_download)
    return fake


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "hf-cache"


def test_locate_without_files_names_the_command_that_fetches_them(cache: Path) -> None:
    for name in RECOMMENDED:
        card = get_card(name)
        assert not download.is_present(card, cache)
        with pytest.raises(ModelUnavailable) as missing:
            download.locate(card, cache)
        assert f"`waifu-bot models pull {name}`" in missing.value.user_message


def test_pull_fetches_every_file_and_the_models_load(hub: FakeHub, cache: Path) -> None:
    locations = download.pull(list(RECOMMENDED), cache)
    fetched = [(repo, path) for repo, path, _ in hub.calls]
    assert fetched == [(get_card(name).repo_id, path) for name in RECOMMENDED for path in get_card(name).files]
    assert [location.version for location in locations] == [COMMIT[:12]] * 3
    ccip_location = locations[1]
    assert ccip_location.directory.name == "ccip-caformer-24-randaug-pruned"
    assert ccip_location.directory.parent.name == COMMIT
    assert all(download.is_present(get_card(name), cache) for name in RECOMMENDED)

    config = SessionConfig()
    location = download.locate_named(DEFAULT_TAGGER, ModelKind.TAGGER, cache)
    tagger = load_tagger(location.directory, name=DEFAULT_TAGGER, version=location.version, session_config=config)
    assert tagger.identity == f"{DEFAULT_TAGGER}@{COMMIT[:12]}"
    assert tagger.predict(Image.new("RGB", (300, 200), (255, 255, 255)))[:4] == pytest.approx([0.25] * 4, abs=2e-3)
    embedder = download.open_embedder(DEFAULT_EMBEDDER, cache, config)
    assert embedder.threshold == pytest.approx(0.1785, abs=1e-4)
    assert embedder.embed(Image.new("RGB", (64, 64), (10, 20, 30))).shape == (768,)
    detector = download.open_detector(DEFAULT_DETECTOR, cache, config)
    (face,) = detector.detect(Image.new("RGB", (1280, 640), (255, 0, 0)))
    assert face.box == (576, 288, 704, 352)


def test_force_asks_the_hub_again(hub: FakeHub, cache: Path) -> None:
    download.pull([DEFAULT_DETECTOR], cache)
    download.pull([DEFAULT_DETECTOR], cache, force=True)
    assert [force for _, _, force in hub.calls] == [False, True]


def test_a_corrupt_model_file_is_reported_with_the_fix(hub: FakeHub, cache: Path) -> None:
    hub.file(get_card(DEFAULT_TAGGER).repo_id, "model.onnx").write_bytes(b"<html>rate limited</html>")
    with pytest.raises(ModelUnavailable) as broken:
        download.pull([DEFAULT_TAGGER], cache)
    message = broken.value.user_message
    assert "does not load" in message and "model.onnx" in message
    assert f"`waifu-bot models pull {DEFAULT_TAGGER} --force`" in message


def test_a_damaged_tag_list_is_reported(hub: FakeHub, cache: Path) -> None:
    hub.file(get_card(DEFAULT_TAGGER).repo_id, "selected_tags.csv").write_text("id,label\n1,cat\n")
    with pytest.raises(ModelUnavailable) as broken:
        download.pull([DEFAULT_TAGGER], cache)
    assert "selected_tags.csv" in broken.value.user_message and "--force" in broken.value.user_message


def test_a_tag_list_that_disagrees_with_the_model_is_reported(hub: FakeHub, cache: Path) -> None:
    write_wd_tags(hub.file(get_card(DEFAULT_TAGGER).repo_id, "selected_tags.csv"), N_TAGS + 1)
    with pytest.raises(ModelUnavailable) as broken:
        download.pull([DEFAULT_TAGGER], cache)
    assert "does not load" in broken.value.user_message


def test_ccip_without_a_threshold_is_reported(hub: FakeHub, cache: Path) -> None:
    card = get_card(DEFAULT_EMBEDDER)
    hub.file(card.repo_id, card.files[2]).write_text(json.dumps({"f1_score": 0.9}))
    with pytest.raises(ModelUnavailable) as broken:
        download.pull([DEFAULT_EMBEDDER], cache)
    assert "metrics.json" in broken.value.user_message


def test_a_file_missing_upstream_is_reported(hub: FakeHub, cache: Path) -> None:
    card = get_card(DEFAULT_EMBEDDER)
    (hub.repos / card.repo_id / card.files[1]).unlink()
    with pytest.raises(ModelUnavailable) as gone:
        download.pull([DEFAULT_EMBEDDER], cache)
    assert "model_metrics.onnx" in gone.value.user_message
    assert not download.is_present(card, cache)  # the files that did arrive do not count as the model


def test_unknown_names_fail_before_any_download(hub: FakeHub, cache: Path) -> None:
    with pytest.raises(ModelUnavailable):
        download.pull([DEFAULT_TAGGER, "no-such-model"], cache)
    assert hub.calls == []


def test_unreachable_hub_says_to_retry(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_connection(*_args, **_kwargs):
        raise LocalEntryNotFoundError("connection error and not in the cache")

    monkeypatch.setattr(download, "hf_hub_download", no_connection)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(ModelUnavailable) as unreachable:
        download.pull([DEFAULT_DETECTOR], cache)
    assert "Cannot reach the Hugging Face hub" in unreachable.value.user_message


def test_offline_mode_fails_clearly_when_not_cached(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 sets at import
    with pytest.raises(ModelUnavailable) as offline:
        download.pull([DEFAULT_DETECTOR], cache)  # the real hf_hub_download: no request is made
    assert "HF_HUB_OFFLINE" in offline.value.user_message
    assert f"waifu-bot models pull {DEFAULT_DETECTOR}" in offline.value.user_message


def test_offline_mode_uses_the_cache(hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    download.pull([DEFAULT_EMBEDDER], cache)
    monkeypatch.setattr(download, "hf_hub_download", huggingface_hub.hf_hub_download)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    (location,) = download.pull([DEFAULT_EMBEDDER], cache)
    assert location.version == COMMIT[:12]
    assert len(hub.calls) == 3  # the second, offline pull was served by the real cache lookup


def test_open_refuses_a_model_of_the_wrong_kind(hub: FakeHub, cache: Path) -> None:
    download.pull([DEFAULT_TAGGER], cache)
    with pytest.raises(ModelUnavailable) as wrong:
        download.open_embedder(DEFAULT_TAGGER, cache, SessionConfig())
    assert "is a tagger model" in wrong.value.user_message and DEFAULT_EMBEDDER in wrong.value.user_message
