"""Bulk import: every picture enrolled approved in folder order, duplicates and unusable files skipped and named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Services
from bot.services.evaluation import list_dataset
from bot.services.importing import ImportStage, import_dataset
from bot.services.results import ImportSummary
from bot.store.records import ReferenceStatus
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode


def drawn_folder(root: Path) -> Path:
    """Two characters of three pictures each, one sub-folder per character."""
    for name, design in (("alice", BLONDE), ("bea", BLUE_HAIR)):
        (root / name).mkdir(parents=True)
        for seed in range(3):
            draw_character(design, seed=seed + 10 * len(name)).save(root / name / f"{seed}.png")
    return root


async def test_a_folder_is_enrolled_approved_with_progress_per_stage(services: Services, tmp_path: Path) -> None:
    reports: list[tuple[ImportStage, int, int]] = []
    dataset = list_dataset(drawn_folder(tmp_path / "set"))
    summary = await import_dataset(
        services.enrollment,
        dataset,
        series="Wonderland",
        on_progress=lambda stage, done, total: reports.append((stage, done, total)),
    )
    assert summary == ImportSummary(characters=2, imported=6)
    assert summary.skipped == ()
    characters = await services.store.list_characters()
    assert [(character.name, character.series) for character in characters] == [
        ("Alice", "Wonderland"),
        ("Bea", "Wonderland"),
    ]
    references = await services.store.list_references(status=None, all_scopes=True)
    assert all(reference.status is ReferenceStatus.APPROVED for reference in references)
    assert sorted(reference.source for reference in references) == sorted(
        str(path) for paths in dataset.values() for path in paths
    )
    assert len(services.gallery) == 6

    assert reports == [("importing", done, 6) for done in range(7)]


async def test_duplicates_and_unusable_files_are_skipped_and_named(services: Services, tmp_path: Path) -> None:
    root = drawn_folder(tmp_path / "set")
    already = await services.enrollment.enroll_approved("bea", (root / "bea" / "0.png").read_bytes())
    copy = root / "alice" / "0b.jpg"  # sorts right after 0.png: the first in folder order is the one kept
    copy.write_bytes(encode(draw_character(BLONDE, seed=50), "JPEG", quality=85))
    broken = root / "alice" / "9.png"
    broken.write_bytes((root / "alice" / "1.png").read_bytes()[:200])
    empty = root / "bea" / "empty.png"
    empty.write_bytes(b"")

    summary = await import_dataset(services.enrollment, list_dataset(root))

    assert summary.characters == 2 and summary.imported == 5
    assert [line.split(": ", 1)[0] for line in summary.duplicates] == [str(copy), str(root / "bea" / "0.png")]
    assert f"reference #{already.reference.id} of bea" in summary.duplicates[1]
    assert [line.split(": ", 1)[0] for line in summary.rejected] == [str(broken), str(empty)]
    assert summary.skipped == summary.duplicates + summary.rejected
    sources = {reference.source for reference in await services.store.list_references(status=None, all_scopes=True)}
    assert str(root / "alice" / "0.png") in sources and str(copy) not in sources


async def test_an_unreadable_or_oversized_file_is_named_and_the_rest_imported(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = drawn_folder(tmp_path / "set")
    unreadable = root / "bea" / "2.png"
    oversized = root / "alice" / "1.png"
    real_open = Path.open

    def open_file(path: Path, *args: object, **kwargs: object) -> object:
        if path == unreadable:
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_file)
    limit = max(path.stat().st_size for path in root.rglob("*.png") if path != oversized)
    oversized.write_bytes(oversized.read_bytes() + b"\0" * (limit + 1))
    summary = await import_dataset(services.enrollment, list_dataset(root), max_bytes=limit)
    assert summary.imported == 4
    assert summary.rejected[0].startswith(f"{oversized}: That file is too large")
    assert summary.rejected[1] == f"{unreadable}: cannot be read (Permission denied)."
    assert len(services.gallery) == 4
