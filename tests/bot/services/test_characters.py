"""Character changes reach the store and the gallery together; only the owner changes global characters."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.errors import PermissionDenied, UnknownCharacter
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR

GUILD_A = 1001
GUILD_B = 2002


async def test_promote_makes_a_guild_character_visible_everywhere(services: Services) -> None:
    enrollment = services.enrollment
    await enrollment.enroll_approved("Blondie", picture(BLONDE, 1), guild_id=GUILD_A)
    await enrollment.enroll_approved("Blondie", picture(BLONDE, 2), guild_id=GUILD_A)
    await enrollment.enroll_approved("Bluey", picture(BLUE_HAIR, 1))
    query = picture(BLONDE, 7)

    before = await services.identify.identify(query, guild_id=GUILD_B)
    assert "Blondie" not in [m.character for m in before.regions[0].matches]

    record = await services.characters.resolve("blondie", guild_id=GUILD_A)
    promoted, served = await services.characters.promote(record.id)
    assert promoted.guild_id is None
    assert served == 2

    after = await services.identify.identify(query, guild_id=GUILD_B)
    assert after.regions[0].matches[0].character == "Blondie"


async def test_rename_and_alias_are_served_at_once(services: Services) -> None:
    await services.enrollment.enroll_approved("Blondie", picture(BLONDE, 1), guild_id=GUILD_A)
    record = await services.characters.resolve("Blondie", guild_id=GUILD_A)
    renamed = await services.characters.rename(record.id, "Goldie")
    await services.characters.add_alias(renamed.id, "金髪")

    result = await services.identify.identify(picture(BLONDE, 5), guild_id=GUILD_A)
    assert result.regions[0].matches[0].character == "Goldie"
    assert (await services.characters.resolve("金髪", guild_id=GUILD_A)).id == record.id
    with pytest.raises(UnknownCharacter):
        await services.characters.resolve("Blondie", guild_id=GUILD_A)


async def test_only_the_owner_edits_global_characters(services: Services) -> None:
    await services.enrollment.enroll_approved("Bluey", picture(BLUE_HAIR, 1))
    with pytest.raises(PermissionDenied):
        await services.characters.editable("Bluey", guild_id=GUILD_A, is_owner=False)
    assert (await services.characters.editable("Bluey", guild_id=GUILD_A, is_owner=True)).name == "Bluey"


async def test_info_counts_only_what_the_guild_can_see(services: Services) -> None:
    await services.enrollment.enroll_approved("Bluey", picture(BLUE_HAIR, 1))
    await services.enrollment.submit("Bluey", picture(BLUE_HAIR, 2), guild_id=GUILD_A, user_id=5)
    await services.enrollment.submit("Bluey", picture(BLUE_HAIR, 3), guild_id=GUILD_B, user_id=6)
    info = await services.characters.info("bluey", guild_id=GUILD_A)
    assert (info.approved, info.pending) == (1, 1)
