"""Imported folders read like names: `nakano_miku` becomes "Nakano Miku", found by every lookup; characters.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Services
from bot.errors import UsageError
from bot.services.display_names import Naming, display_name, naming_of, read_characters_file
from bot.services.evaluation import list_dataset
from bot.services.importing import import_dataset
from bot.services.names import NameSearch
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode


@pytest.mark.parametrize(
    ("folder", "shown"),
    [("nakano_miku", "Nakano Miku"), ("Lisa Simpson", "Lisa Simpson"), ("中野三玖", "中野三玖"), ("HK_416", "HK 416")],
)
def test_folder_names_become_display_names(folder: str, shown: str) -> None:
    assert display_name(folder) == shown


def test_the_folder_name_stays_an_alias_and_the_file_may_override() -> None:
    assert naming_of("nakano_miku", {}, "Gotoubun") == Naming("Nakano Miku", "Gotoubun", ("nakano_miku",))
    listed = {"miku": Naming("Nakano Miku", "Gotoubun no Hanayome", ("中野三玖",))}
    assert naming_of("miku", listed, None) == Naming("Nakano Miku", "Gotoubun no Hanayome", ("中野三玖", "miku"))


def test_a_characters_file_without_a_folder_column_is_refused(tmp_path: Path) -> None:
    (tmp_path / "characters.csv").write_text("path,label\na.png,miku\n", encoding="utf-8")
    with pytest.raises(UsageError, match="folder,name,series,aliases"):
        read_characters_file(tmp_path)


async def test_importing_nakano_miku_makes_the_name_findable_everywhere(services: Services, tmp_path: Path) -> None:
    root = tmp_path / "set"
    for folder, design in (("nakano_miku", BLONDE), ("nino", BLUE_HAIR)):
        (root / folder).mkdir(parents=True)
        for seed in range(3):
            draw_character(design, seed=seed + 7 * len(folder)).save(root / folder / f"{seed}.png")
    (root / "characters.csv").write_text(
        "folder,name,series,aliases\nnino,Nakano Nino,Gotoubun,中野二乃|Nino\n", encoding="utf-8"
    )
    await import_dataset(services.enrollment, list_dataset(root), names=read_characters_file(root))
    miku = await services.store.find_character("Nakano Miku")
    assert miku is not None and miku.name == "Nakano Miku" and miku.aliases == ("nakano_miku",)
    assert await services.store.find_character("nakano_miku") == miku
    nino = await services.store.find_character("中野二乃")
    assert nino is not None and (nino.name, nino.series) == ("Nakano Nino", "Gotoubun")
    offered = await NameSearch(services.store).choices("nakano mi", guild_id=None)
    assert offered[0].name == "Nakano Miku"
    probe = draw_character(BLONDE, seed=40)

    whynot = await services.whynot.whynot(encode(probe), "Nakano Miku")
    assert whynot.character == "Nakano Miku"
    identified = await services.identify.identify(encode(probe))
    assert identified.regions[0].matches[0].character == "Nakano Miku"
