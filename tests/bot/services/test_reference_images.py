"""Reference images are stored once per content, atomically, and never outside their folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.services.reference_images import ReferenceImages
from tests.drawing import BLONDE, draw_character, encode


def test_save_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    images = ReferenceImages(tmp_path / "refs")
    data = encode(draw_character(BLONDE, seed=1), "JPEG")
    relative, new = images.save(data)
    digest = hashlib.sha256(data).hexdigest()
    assert relative == f"{digest[:2]}/{digest}.jpeg"
    assert new
    assert images.save(data) == (relative, False)
    assert images.read(relative) == data
    assert not any(path.name.startswith(".incoming-") for path in (tmp_path / "refs").rglob("*"))
    images.discard(relative)
    assert not images.path(relative).exists()


def test_paths_cannot_escape_the_folder(tmp_path: Path) -> None:
    images = ReferenceImages(tmp_path / "refs")
    with pytest.raises(ValueError, match="leaves"):
        images.read("../../etc/passwd")
