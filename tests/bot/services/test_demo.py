"""The demo: drawn cast in, every unseen picture identified, one answer explained, the user's gallery untouched."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.services.demo import REFERENCES_PER_CHARACTER, demo_settings, run_demo
from bot.services.drawn_characters import DEMO_CAST


async def test_the_demo_identifies_each_unseen_picture_and_explains_one(settings: Settings, tmp_path: Path) -> None:
    steps: list[str] = []
    outcome = await run_demo(settings, tmp_path / "demo", on_step=steps.append)
    assert outcome.imported.imported == len(DEMO_CAST) * REFERENCES_PER_CHARACTER
    assert outcome.imported.characters == len(DEMO_CAST)
    assert [answer.member for answer in outcome.answers] == list(DEMO_CAST)
    assert all(answer.correct for answer in outcome.answers), [
        (answer.member.name, answer.result.regions[0].matches[:2]) for answer in outcome.answers
    ]
    explained = outcome.explained
    assert explained.character == DEMO_CAST[1].name and explained.rank > 1
    assert explained.best_match == DEMO_CAST[0].name and explained.opposing
    assert steps and steps[0].startswith("drawing")
    # the demo works in its own folder: the user's data directory was never created
    assert not settings.data_dir.exists()


def test_demo_settings_point_everything_at_the_throwaway_folder(settings: Settings, tmp_path: Path) -> None:
    moved = demo_settings(settings.model_copy(update={"database_url": "sqlite:///elsewhere.db"}), tmp_path)
    assert moved.data_dir == tmp_path / "data" and moved.database_url is None
    assert moved.tagger == "palette" and moved.pool.workers == 0
