"""Autocomplete name search: fuzzy over names and aliases in any script, and the typed text as a new name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import Services
from bot.errors import UnknownCharacter
from bot.services.names import NameChoice, NameSearch, close_names, is_known, rank_names, resolve_character
from bot.store.records import CharacterRecord
from tests.bot.store.samples import enroll_sample

NOW = datetime.now(UTC)
CAST = [
    CharacterRecord(1, "Nakano Miku", "Gotoubun", ("中野三玖", "ミク"), None, NOW),
    CharacterRecord(2, "Nakano Nino", "Gotoubun", ("中野二乃",), None, NOW),
    CharacterRecord(3, "Lisa Simpson", "The Simpsons", (), None, NOW),
]


def test_names_and_aliases_rank_in_any_script() -> None:
    assert rank_names("三玖", CAST)[0] == NameChoice("中野三玖 (Nakano Miku)", "Nakano Miku")
    assert rank_names("lisa", CAST)[0] == NameChoice("Lisa Simpson", "Lisa Simpson")
    assert all(choice.name != "Lisa Simpson" for choice in rank_names("nakano", CAST))


def test_empty_text_lists_everyone_alphabetically_and_each_character_once() -> None:
    assert [choice.name for choice in rank_names("", CAST)] == ["Lisa Simpson", "Nakano Miku", "Nakano Nino"]
    assert [choice.name for choice in rank_names("Miku", CAST)].count("Nakano Miku") == 1
    assert len(rank_names("", CAST, limit=2)) == 2


def test_half_width_kana_and_full_width_letters_match_after_nfkc() -> None:
    assert rank_names("ﾐｸ", CAST)[0].name == "Nakano Miku"  # half-width katakana of ミク
    assert rank_names("ＬＩＳＡ", CAST)[0].name == "Lisa Simpson"  # full-width Latin
    assert is_known("ｌｉｓａ simpson", CAST) and not is_known("Lisa", CAST)


async def test_search_offers_the_typed_text_as_a_new_character_only_when_unknown(services: Services) -> None:
    await enroll_sample(services.store, "Alice", aliases=("アリス",), seed=1)
    await enroll_sample(services.store, "Midori", guild_id=7, seed=2)
    search = NameSearch(services.store)
    new = await search.choices("Alic", guild_id=None, offer_new=True)
    known = await search.choices("アリス", guild_id=None, offer_new=True)
    elsewhere = await search.choices("Midori", guild_id=None, offer_new=True)
    at_home = await search.choices("Midori", guild_id=7, offer_new=True)
    plain = await search.choices("Alic", guild_id=None)
    assert new == [NameChoice("Alice", "Alice"), NameChoice("Alic (new character)", "Alic", new=True)]
    assert known == [NameChoice("アリス (Alice)", "Alice")]
    assert elsewhere == [NameChoice("Midori (new character)", "Midori", new=True)]  # another guild's character
    assert at_home == [NameChoice("Midori", "Midori")]
    assert plain == [NameChoice("Alice", "Alice")]


async def test_pending_and_rejected_names_are_never_offered_or_suggested(services: Services) -> None:
    await enroll_sample(services.store, "Hatsune Miku", seed=1)
    await enroll_sample(services.store, "Free Nitro Here", guild_id=7, status="pending", seed=2)
    _, rejected = await enroll_sample(services.store, "Free Nitro There", guild_id=7, status="pending", seed=3)
    await services.store.review_reference(rejected.id, approve=False, reviewer_id=1)
    search = NameSearch(services.store)
    for typed in ("", "Free", "Free Nitro Here", "Free Nitro There"):
        offered = await search.choices(typed, guild_id=7, offer_new=True)
        assert all(not choice.name.startswith("Free") or choice.new for choice in offered), offered
    with pytest.raises(UnknownCharacter) as caught:
        await resolve_character(services.store, "Free Nitro", guild_id=7)
    assert not caught.value.suggestions


@pytest.mark.parametrize("typed", ["R\u0435milia Scarlet", "Remilia Scarlett", "remilia scarIet", "Rémilia Scarlet"])
def test_close_names_find_look_alikes_and_near_spellings(typed: str) -> None:
    cast = [*CAST, CharacterRecord(4, "Remilia Scarlet", "Touhou", (), None, NOW)]
    assert [character.name for character in close_names(typed, cast)][:1] == ["Remilia Scarlet"]


def test_a_different_name_is_not_close() -> None:
    assert close_names("Flandre Scarlet", CAST) == []
    assert [c.name for c in close_names("Nakano Mik", CAST)][:1] == ["Nakano Miku"]
