"""Characters: names and aliases in any language, scopes, renames, promotion, and their audit rows."""

from __future__ import annotations

from datetime import UTC

import pytest

from bot.errors import CharacterExists, NotFound
from bot.store.repository import CharacterStore
from models.errors import UserFacingError
from tests.bot.store.samples import enroll_sample

GUILD_A = 111_111_111_111_111_111
GUILD_B = 222_222_222_222_222_222
OWNER = 900_000_000_000_000_001
MOD = 900_000_000_000_000_002


async def test_create_get_and_list(store: CharacterStore) -> None:
    miku = await store.create_character(
        "  Nakano   Miku ", series="The Quintessential Quintuplets", aliases=["中野三玖", "Miku"], actor_id=OWNER
    )
    assert miku.name == "Nakano Miku"
    assert miku.aliases == ("中野三玖", "Miku")
    assert miku.guild_id is None
    assert miku.created_at.tzinfo is UTC

    assert await store.get_character(miku.id) == miku
    assert await store.get_character(miku.id + 1000) is None
    bart = await store.create_character("Bart Simpson", series="The Simpsons")
    assert [character.name for character in await store.list_characters()] == ["Bart Simpson", "Nakano Miku"]
    assert await store.get_character(bart.id) == bart


@pytest.mark.parametrize(
    "typed",
    ["Nakano Miku", "nakano miku", "NAKANO  MIKU", "Ｎａｋａｎｏ　Ｍｉｋｕ", "中野三玖", "ＭＩＫＵ", "miku", " Miku "],
)
async def test_find_by_name_or_alias_in_any_case_width_or_language(store: CharacterStore, typed: str) -> None:
    miku = await store.create_character("Nakano Miku", aliases=["中野三玖", "Miku"])
    assert await store.find_character(typed) == miku
    assert await store.find_character(typed, guild_id=GUILD_A) == miku  # global characters serve every guild


async def test_find_unknown_name_is_none(store: CharacterStore) -> None:
    await store.create_character("Nakano Miku")
    assert await store.find_character("Nakano Nino") is None


async def test_names_and_aliases_share_one_namespace(store: CharacterStore) -> None:
    miku = await store.create_character("Nakano Miku", aliases=["Miku"])

    with pytest.raises(CharacterExists, match="Nakano Miku"):
        await store.create_character("nakano miku")
    with pytest.raises(
        CharacterExists, match=r"'MIKU' is already a name or alias of the global character 'Nakano Miku'"
    ):
        await store.create_character("ＭＩＫＵ")
    nino = await store.create_character("Nakano Nino")
    with pytest.raises(CharacterExists, match="Nakano Miku"):
        await store.add_alias(nino.id, "miku")
    with pytest.raises(CharacterExists, match="Nakano Miku"):
        await store.create_character("Nino", aliases=["Nakano Miku"])
    assert await store.find_character("Nino") is None
    assert (await store.get_character(miku.id)).aliases == ("Miku",)


async def test_add_and_remove_alias(store: CharacterStore) -> None:
    miku = await store.create_character("Nakano Miku")
    with_alias = await store.add_alias(miku.id, "中野 三玖", language="ja", actor_id=MOD)
    assert with_alias.aliases == ("中野 三玖",)
    assert await store.find_character("中野　三玖") == with_alias  # ideographic space is a space after NFKC

    again = await store.add_alias(miku.id, "Nakano Miku")  # its own name: nothing to add
    assert again.aliases == ("中野 三玖",)
    actions = [entry.action for entry in await store.audit_log()]
    assert actions.count("character.alias_add") == 1

    without = await store.remove_alias(miku.id, "中野 三玖", actor_id=MOD)
    assert without.aliases == ()
    assert await store.find_character("中野 三玖") is None
    with pytest.raises(NotFound, match="no alias"):
        await store.remove_alias(miku.id, "中野 三玖")
    with pytest.raises(NotFound):
        await store.add_alias(miku.id + 99, "x")


async def test_guilds_see_their_own_characters_and_the_global_ones(store: CharacterStore) -> None:
    miku = await store.create_character("Nakano Miku")
    local_a = await store.create_character("Local Mascot", guild_id=GUILD_A, aliases=["マスコット"])
    local_b = await store.create_character("Local Mascot", guild_id=GUILD_B)  # same name, other guild: fine

    assert await store.find_character("local mascot", guild_id=GUILD_A) == local_a
    assert await store.find_character("マスコット", guild_id=GUILD_A) == local_a
    assert await store.find_character("マスコット", guild_id=GUILD_B) is None
    assert await store.find_character("local mascot", guild_id=GUILD_B) == local_b
    assert await store.find_character("local mascot") is None  # not global

    assert {c.id for c in await store.list_characters(guild_id=GUILD_A)} == {miku.id, local_a.id}
    assert {c.id for c in await store.list_characters(guild_id=GUILD_B)} == {miku.id, local_b.id}
    assert {c.id for c in await store.list_characters()} == {miku.id}


async def test_a_guild_cannot_take_a_global_name(store: CharacterStore) -> None:
    await store.create_character("Nakano Miku", aliases=["Miku"])
    with pytest.raises(CharacterExists, match="global character 'Nakano Miku'"):
        await store.create_character("miku", guild_id=GUILD_A)
    local = await store.create_character("Miku Fan", guild_id=GUILD_A)
    with pytest.raises(CharacterExists, match="global character 'Nakano Miku'"):
        await store.add_alias(local.id, "Nakano Miku")
    with pytest.raises(CharacterExists, match="global character"):
        await store.rename_character(local.id, "MIKU")


async def test_a_guild_character_comes_before_a_later_global_one(store: CharacterStore) -> None:
    local = await store.create_character("Rem", guild_id=GUILD_A)
    global_rem = await store.create_character("Rem", series="Re:Zero")  # the owner may still add it globally
    assert await store.find_character("rem", guild_id=GUILD_A) == local
    assert await store.find_character("rem", guild_id=GUILD_B) == global_rem


async def test_rename(store: CharacterStore) -> None:
    miku = await store.create_character("Miku", aliases=["Nakano Miku", "三玖"])
    await store.create_character("Nakano Nino")
    with pytest.raises(CharacterExists, match="Nakano Nino"):
        await store.rename_character(miku.id, "nakano nino")

    renamed = await store.rename_character(miku.id, "Nakano Miku", actor_id=MOD)  # was its own alias
    assert renamed.name == "Nakano Miku"
    assert renamed.aliases == ("三玖",)
    assert await store.find_character("Miku") is None
    assert await store.find_character("三玖") == renamed
    assert (await store.audit_log(limit=1))[0].detail == "renamed 'Miku' to 'Nakano Miku'"
    with pytest.raises(NotFound):
        await store.rename_character(miku.id + 50, "Anyone")


async def test_invalid_names_are_refused_with_a_message(store: CharacterStore) -> None:
    with pytest.raises(UserFacingError, match="cannot be empty"):
        await store.create_character("   ")
    with pytest.raises(UserFacingError, match="at most 100"):
        await store.create_character("x" * 101)
    assert await store.list_characters() == []


async def test_promote_moves_a_guild_character_and_its_approved_references(store: CharacterStore) -> None:
    character, approved = await enroll_sample(store, "Local Hero", guild_id=GUILD_A, aliases=["ヒーロー"])
    _, pending = await enroll_sample(store, "Local Hero", guild_id=GUILD_A, status="pending", seed=2)

    promoted = await store.promote_character(character.id, actor_id=OWNER)
    assert promoted.guild_id is None
    assert await store.find_character("ヒーロー", guild_id=GUILD_B) == promoted
    assert (await store.get_reference(approved.id)).guild_id is None
    assert (await store.get_reference(pending.id)).guild_id == GUILD_A  # still in that guild's review queue
    entry = (await store.audit_log(limit=1))[0]
    assert (entry.action, entry.actor_id, entry.guild_id) == ("character.promote", OWNER, GUILD_A)
    assert entry.detail == f"promoted Local Hero from guild {GUILD_A} to global with 1 approved reference"

    with pytest.raises(UserFacingError, match="already global"):
        await store.promote_character(character.id)


async def test_promote_fails_clearly_on_a_global_name_clash_and_changes_nothing(store: CharacterStore) -> None:
    local = await store.create_character("Kyon", guild_id=GUILD_A, aliases=["Kyon-kun"])
    await store.create_character("Kyon-kun", series="Haruhi")  # global, created after the guild's
    with pytest.raises(CharacterExists, match="global character 'Kyon-kun' from Haruhi"):
        await store.promote_character(local.id, actor_id=OWNER)
    assert await store.get_character(local.id) == local
    assert [entry.action for entry in await store.audit_log(limit=1)] == ["character.create"]


async def test_promote_unknown_character(store: CharacterStore) -> None:
    with pytest.raises(NotFound):
        await store.promote_character(12345)


async def test_promote_one_reference_of_a_global_character(store: CharacterStore) -> None:
    _, guild_ref = await enroll_sample(store, "Nakano Miku", guild_id=GUILD_A)  # creates a guild character
    with pytest.raises(UserFacingError, match="promote the character itself"):
        await store.promote_reference(guild_ref.id)

    global_miku = await store.create_character("Miku Global")
    _, approved = await enroll_sample(store, "miku global", guild_id=GUILD_B, seed=2)
    _, pending = await enroll_sample(store, "miku global", guild_id=GUILD_B, seed=3, status="pending")
    assert approved.character_id == global_miku.id and approved.guild_id == GUILD_B

    promoted = await store.promote_reference(approved.id, actor_id=OWNER)
    assert promoted.guild_id is None
    assert [r.id for r in await store.list_references(guild_id=GUILD_A, character_id=global_miku.id)] == [approved.id]
    with pytest.raises(UserFacingError, match="already global"):
        await store.promote_reference(approved.id)
    with pytest.raises(UserFacingError, match="is pending"):
        await store.promote_reference(pending.id)
    with pytest.raises(NotFound):
        await store.promote_reference(pending.id + 10)
    entry = (await store.audit_log(limit=1))[0]
    assert (entry.action, entry.guild_id, entry.reference_id) == ("reference.promote", GUILD_B, approved.id)


async def test_blank_lookups_find_nothing(store: CharacterStore) -> None:
    await store.create_character("Nakano Miku")
    assert await store.find_character("") is None
    assert await store.find_character("  \u3000 ") is None
    with pytest.raises(UserFacingError, match="cannot be empty"):
        await store.create_character("\u3000 ")  # a full-width space only: nothing shows
    with pytest.raises(UserFacingError, match=r"invisible .* U\+00AD SOFT HYPHEN"):
        await store.create_character("Naka\u00adno\u200b Miku")  # a look-alike of an existing name


async def test_an_overlong_series_is_refused_before_anything_is_written(store: CharacterStore) -> None:
    # The column holds 200 characters: PostgreSQL would fail mid-transaction, SQLite would silently keep more.
    with pytest.raises(UserFacingError, match="200"):
        await store.create_character("Kaito", series="s" * 201)
    with pytest.raises(UserFacingError, match="200"):
        await enroll_sample(store, "Kaito", series="s" * 201)
    assert await store.list_characters() == []
    kept = await store.create_character("Kaito", series="  " + "s" * 200 + "  ")
    assert kept.series == "s" * 200


async def test_refile_moves_a_pending_submission_and_removes_the_name_it_leaves_empty(store: CharacterStore) -> None:
    miku, _ = await enroll_sample(store, "Nakano Miku", seed=1)
    typo, pending = await enroll_sample(store, "Nakano Mikuu", guild_id=GUILD_A, status="pending", seed=2)
    moved, character = await store.refile_submission(pending.id, miku.id, actor_id=MOD)
    assert (moved.character_id, moved.status.value, character) == (miku.id, "pending", miku)
    assert await store.get_character(typo.id) is None
    (entry,) = await store.audit_log(guild_id=GUILD_A, limit=1)
    assert (entry.action, entry.actor_id, entry.detail) == (
        "reference.refile",
        MOD,
        f"re-filed submission #{pending.id} under Nakano Miku (was Nakano Mikuu)",
    )


async def test_refile_keeps_a_shared_name_and_refuses_other_guilds_and_reviewed_ones(store: CharacterStore) -> None:
    miku, _ = await enroll_sample(store, "Nakano Miku", seed=1)
    theirs, _ = await enroll_sample(store, "Miku B", guild_id=GUILD_B, seed=2)
    typo, first = await enroll_sample(store, "Nakano Mikuu", guild_id=GUILD_A, status="pending", seed=3)
    _, second = await enroll_sample(store, "Nakano Mikuu", guild_id=GUILD_A, status="pending", seed=4)
    with pytest.raises(NotFound, match="no character"):
        await store.refile_submission(first.id, theirs.id)
    await store.refile_submission(first.id, miku.id)
    assert await store.get_character(typo.id) == typo, "another submission still uses the name"
    await store.review_reference(second.id, approve=False, reviewer_id=MOD)
    with pytest.raises(NotFound, match="already reviewed"):
        await store.refile_submission(second.id, miku.id)
    assert (await store.get_reference(second.id)).character_id == typo.id
