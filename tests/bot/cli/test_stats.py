"""`waifu-bot stats` prints the gallery's statistics as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.drawing import BLONDE, BLUE_HAIR, draw_character


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    root = tmp_path / "pictures"
    for name, design, count in (("alice", BLONDE, 3), ("bea", BLUE_HAIR, 1)):
        (root / name).mkdir(parents=True)
        for seed in range(count):
            draw_character(design, seed=seed + 7 * count).save(root / name / f"{seed}.png")
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "--workers", "0", "import", str(root)]) == 0
    return data


def test_stats_json_and_table(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "stats", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert main(["--data-dir", str(data_dir), "stats"]) == 0
    table = capsys.readouterr().out
    assert shown["characters"] == 2 and shown["references"] == 4
    assert shown["per_character"] == {"min": 1, "median": 2.0, "max": 3}
    assert shown["weakest"][0]["character"].lower() == "bea" and shown["weakest"][0]["references"] == 1
    assert shown["pending"] == 0 and shown["oldest_pending_seconds"] is None and shown["other_model"] == 0
    assert shown["histogram"]["1"] == 1 and shown["histogram"]["2-4"] == 1
    assert "2 characters, 4 approved references (per character min 1, median 2, max 3)" in table


def test_stats_reports_the_most_corrected_characters(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    import asyncio

    from bot.store.records import ReferenceStatus
    from bot.store.repository import CharacterStore

    async def correct_bea_twice() -> None:
        async with await CharacterStore.open(f"sqlite+aiosqlite:///{data_dir / 'waifu.sqlite3'}") as store:
            bea = next(c for c in await store.list_characters() if c.name.lower() == "bea")
            references = await store.list_references(status=ReferenceStatus.APPROVED)
            for reference in [r for r in references if r.character_id != bea.id][:2]:
                await store.record_correction(
                    said_character_id=bea.id, reference_id=reference.id, guild_id=5, actor_id=1
                )

    asyncio.run(correct_bea_twice())
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "stats", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["most_confused"] == [{"character": "Bea", "corrections": 2, "mostly_to": "Alice"}]
    assert shown["confusion_window_days"] == 30
    assert main(["--data-dir", str(data_dir), "stats"]) == 0
    assert "most corrected with Not right? in the last 30 days" in capsys.readouterr().out
