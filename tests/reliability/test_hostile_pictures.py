"""Issue 13, items 1, 2 and 4: hostile pictures are refused or reduced from their headers, at a bounded cost."""

from __future__ import annotations

import io
import resource
from pathlib import Path

import pytest
from PIL import Image

from bot.config import Settings
from bot.inference.engine import build_recognition_engine
from bot.recognition.analysis import InferenceJob
from models.errors import ImageRejected
from models.frames import MAX_FRAMES_COUNTED, count_gif_frames, count_tiff_directories
from models.intake import load_image
from tests.drawing import BLONDE, draw_character, encode
from tests.reliability.hostile import many_ifd_tiff, sparse_file, strip_png

MEMORY_BUDGET_MB = 500
"""What one hostile picture may add to the process's peak resident memory."""


def peak_rss_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("size", [(1, 40_000_000), (40_000_000, 1)])
def test_a_forty_megapixel_strip_is_refused_from_its_header(size: tuple[int, int]) -> None:
    data = strip_png(*size)
    before = peak_rss_mb()
    with pytest.raises(ImageRejected) as caught:
        load_image(data)
    assert caught.value.reason == "too_thin"
    assert "long and thin" in caught.value.user_message
    assert peak_rss_mb() - before < MEMORY_BUDGET_MB


def test_a_long_picture_within_the_aspect_cap_is_reduced_before_anyone_hashes_it() -> None:
    loaded = load_image(strip_png(300, 29_000), max_side=1024)
    assert loaded.original_size == (300, 29_000)
    assert max(loaded.image.size) == 1024


def test_a_tiff_of_200000_directories_is_counted_to_the_cap_without_seeking() -> None:
    data = many_ifd_tiff(200_000)
    assert count_tiff_directories(data) == MAX_FRAMES_COUNTED
    loaded = load_image(data)
    assert loaded.image.size == (1, 1)
    assert loaded.frame_count == MAX_FRAMES_COUNTED


def test_frame_counters_agree_with_pillow_on_ordinary_files() -> None:
    frames = [draw_character(BLONDE, seed=seed, size=(40, 30)) for seed in range(5)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    tiff = io.BytesIO()
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:3])
    assert count_gif_frames(gif) == Image.open(io.BytesIO(gif)).n_frames == 5
    assert count_tiff_directories(tiff.getvalue()) == Image.open(tiff).n_frames == 3
    assert count_tiff_directories(many_ifd_tiff(7)) == 7


def test_a_looping_tiff_directory_chain_ends() -> None:
    data = bytearray(many_ifd_tiff(3))
    data[-4:] = (10).to_bytes(4, "little")  # the last IFD points back at the first
    assert count_tiff_directories(bytes(data)) == 3


def test_the_engine_answers_hostile_files_within_the_memory_budget(tmp_path: Path) -> None:
    engine = build_recognition_engine(Settings(data_dir=tmp_path, tagger="palette", _env_file=None))
    before = peak_rss_mb()
    for data in (strip_png(1, 40_000_000), many_ifd_tiff(200_000)):
        try:
            engine.analyze(InferenceJob(image=data))
        except ImageRejected as error:
            assert error.reason == "too_thin"
    assert peak_rss_mb() - before < MEMORY_BUDGET_MB


def test_an_oversized_file_is_refused_from_its_size_on_disk(tmp_path: Path) -> None:
    huge = sparse_file(tmp_path / "huge.png", 1_000_000_000)
    before = peak_rss_mb()
    with pytest.raises(ImageRejected) as caught:
        load_image(huge, max_bytes=25 * 1024 * 1024)
    assert caught.value.reason == "too_large"
    assert peak_rss_mb() - before < 50
