"""The palette tagger: built in code, loaded by the real WD loader, tags colours where they are."""

from __future__ import annotations

import os
import random
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.recognition.profile import build_profile, profile_distances
from models import palette
from models.intake import load_image
from models.palette import PALETTE_NAME, PALETTE_VERSION, ensure_palette_tagger
from models.sessions import SessionConfig
from models.tagger import TagCategory, Tagger, load_tagger
from tests.conftest import dataset_dir
from tests.drawing import BLONDE, BLUE_HAIR, draw_character


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> Tagger:
    root = tmp_path_factory.mktemp("models")
    return load_tagger(
        ensure_palette_tagger(root), name=PALETTE_NAME, version=PALETTE_VERSION, session_config=SessionConfig()
    )


def probs_of(tagger: Tagger, image: Image.Image) -> dict[str, float]:
    return dict(zip(tagger.tags.names, tagger.predict(image).tolist(), strict=True))


def test_loads_through_the_wd_loader(tagger: Tagger) -> None:
    assert tagger.identity == f"palette@{PALETTE_VERSION}"
    assert tagger.input_size == palette.INPUT_SIZE
    assert len(tagger.tags) == len(palette.REGIONS) * len(palette.COLOURS)
    assert tagger.tags.indices(TagCategory.GENERAL).size == len(tagger.tags)
    assert tagger.tags.counts.max() == 0
    for name in ("whole_red", "top_yellow", "bottom_red", "centre_dark_brown", "middle_light_blue"):
        assert name in tagger.tags.names


def test_solid_red_is_red_not_blue(tagger: Tagger) -> None:
    probs = probs_of(tagger, Image.new("RGB", (100, 100), (215, 30, 35)))
    assert probs["whole_red"] > 0.9
    assert probs["whole_blue"] < 0.1
    assert probs["whole_yellow"] < 0.1
    assert max(probs, key=probs.get).endswith("_red")


def test_colours_are_tagged_where_they_are(tagger: Tagger) -> None:
    image = Image.new("RGB", (90, 90), (210, 35, 40))
    image.paste((250, 220, 40), (0, 0, 90, 45))  # the top half yellow, the bottom half red
    probs = probs_of(tagger, image)
    assert probs["top_yellow"] > 0.9
    assert probs["bottom_yellow"] < 0.1
    assert probs["bottom_red"] > 0.9
    assert probs["top_red"] < 0.1
    assert probs["top_yellow"] > probs["whole_yellow"] > probs["bottom_yellow"]
    assert probs["middle_yellow"] > 0.5
    assert probs["middle_red"] > 0.5


def test_drawn_blonde_has_yellow_hair_and_red_clothes(tagger: Tagger) -> None:
    for seed in range(3):
        probs = probs_of(tagger, draw_character(BLONDE, seed=seed))
        assert probs["top_yellow"] > probs["bottom_yellow"]
        assert probs["bottom_red"] + probs["bottom_dark_red"] > probs["top_red"] + probs["top_dark_red"]
        assert probs["top_yellow"] > probs["top_blue"]


def test_blue_hair_differs_from_blonde_where_the_hair_is(tagger: Tagger) -> None:
    blonde = probs_of(tagger, draw_character(BLONDE, seed=1))
    blue = probs_of(tagger, draw_character(BLUE_HAIR, seed=1))
    assert blue["top_blue"] > blonde["top_blue"] + 0.3
    assert blonde["top_yellow"] > blue["top_yellow"] + 0.3


def test_white_padding_does_not_count(tagger: Tagger) -> None:
    square = tagger.predict(Image.new("RGB", (60, 60), (40, 90, 220)))
    wide = tagger.predict(Image.new("RGB", (180, 60), (40, 90, 220)))
    names = tagger.tags.names
    # counted, the padding would make the wide picture two-thirds white: whole_blue = (1/3) ** 0.25 = 0.76;
    # ignored, only the two resampled rows at the content's edges differ from the square picture
    assert square[names.index("whole_blue")] > 0.99
    np.testing.assert_allclose(wide[names.index("whole_blue")], square[names.index("whole_blue")], atol=0.05)
    assert wide[names.index("whole_white")] < 0.1


def test_probabilities_are_in_range(tagger: Tagger) -> None:
    rng = np.random.default_rng(3)
    images = [Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)) for _ in range(3)]
    images += [Image.new("RGB", (20, 20), (255, 255, 255)), Image.new("RGB", (20, 20), (0, 0, 0))]
    probs = tagger.predict_batch(images)
    assert probs.shape == (5, len(tagger.tags))
    assert np.isfinite(probs).all()
    assert probs.min() >= 0.0
    assert probs.max() <= 1.0
    assert probs[3].max() == 0.0  # an all-white picture is all padding: no colour at all


def test_ensure_builds_once(tmp_path: Path) -> None:
    first = ensure_palette_tagger(tmp_path)
    assert first == tmp_path / f"palette-v{PALETTE_VERSION}"
    stamp = (first / "model.onnx").stat().st_mtime_ns
    os.utime(first / "model.onnx", ns=(stamp - 10**9, stamp - 10**9))
    assert ensure_palette_tagger(tmp_path) == first
    assert (first / "model.onnx").stat().st_mtime_ns == stamp - 10**9
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]


def test_ensure_leaves_nothing_behind_when_the_build_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_build(out_dir: Path) -> Path:
        (Path(out_dir) / "model.onnx").write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(palette, "build_palette_tagger", broken_build)
    with pytest.raises(OSError, match="disk full"):
        ensure_palette_tagger(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_ensures_agree(tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_palette_tagger(tmp_path))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [results[0].name]
    load_tagger(results[0], name=PALETTE_NAME, version=PALETTE_VERSION, session_config=SessionConfig())


@pytest.mark.dataset
@pytest.mark.parametrize(("name", "top1_bar"), [("simpsons-classification", 0.55), ("gotoubun-no-discriminator", 0.45)])
def test_palette_profiles_reach_the_issue_bar(tagger: Tagger, name: str, top1_bar: float) -> None:
    root = dataset_dir(name)
    by_character: dict[str, list[np.ndarray]] = defaultdict(list)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            by_character[folder.name].append(tagger.predict(load_image(path).image))
    rng = random.Random(0)
    characters = sorted(by_character)
    profiles, queries = [], []
    for index, character in enumerate(characters):
        vectors = np.stack(by_character[character])
        refs = rng.sample(range(len(vectors)), 10)
        profiles.append(build_profile(vectors[refs]))
        queries += [(vectors[i], index) for i in range(len(vectors)) if i not in refs]
    ranks = [int(np.argsort(profile_distances(query, profiles)).tolist().index(truth)) for query, truth in queries]
    assert np.mean(np.array(ranks) == 0) >= top1_bar
    if name.startswith("simpsons"):
        assert np.mean(np.array(ranks) < 3) >= 0.90
