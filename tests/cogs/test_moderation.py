"""Moderation through the emulated Discord: forged buttons answered, pending names hidden, look-alikes flagged."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
from bot.services.reference_quality import DESCRIPTIONS, MONOCHROME
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.cogs.test_enroll import open_review, submit
from tests.drawing import BLONDE, GREEN_HAIR, draw_character, encode

FORGED = [
    "waifu:review:approve:" + "9" * 79,
    "waifu:review:skip:" + "1" * 30,
    "waifu:review:approve:" + "9" * 19,  # above 2**63 - 1
    "waifu:review:approve:0",
    "waifu:review:approve:-1",
    "waifu:review:nuke:1",
    "waifu:review:approve:1:extra",
    "waifu:something-retired",
]


async def offered(world: World, command: str, typed: str) -> list[str]:
    """The values a member's autocomplete offers for `character` of `/command`."""
    handle = await world.member.autocomplete(command, focused="character", character=typed)
    return [choice["value"] for choice in (await handle.answer()).data["choices"]]


async def test_forged_or_malformed_buttons_are_answered_privately_without_an_error(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await submit(world, "Midori", 1)
        await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
        with caplog.at_level(logging.INFO):
            for custom_id in FORGED:
                answer = await (await world.owner.press(message, custom_id)).answer()
                assert answer.ephemeral and answer.content == "This button is no longer valid.", custom_id
    assert not [record for record in caplog.records if record.exc_info], "a forged button logged a traceback"


async def test_pending_and_rejected_names_never_reach_a_members_autocomplete(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await submit(world, "Free Nitro Here", 1)
        assert "Free Nitro Here" not in await offered(world, "whynot", "Free Nitro")
        assert "Free Nitro Here" not in await offered(world, "whynot", "")
        _, card = await open_review(world)
        assert card.embeds[0]["title"].endswith(": Free Nitro Here")  # moderators see it, in the review queue
        message = world.emu.messages[max(world.emu.messages)]
        reject = next(c for row in message["components"] for c in row["components"] if c["label"] == "Reject")
        await (await world.owner.press(message, reject["custom_id"])).answer()
        for command in ("whynot", "enroll"):
            choices = await offered(world, command, "Free Nitro Here")
            assert choices in ([], ["Free Nitro Here"]) and (command == "enroll" or not choices)
        await submit(world, "Midori", 2)
        _, card = await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
        approve = next(c for row in message["components"] for c in row["components"] if c["label"] == "Approve")
        await (await world.owner.press(message, approve["custom_id"])).answer()
        assert "Midori" in await offered(world, "whynot", "Midor")


async def test_a_look_alike_of_a_known_name_is_flagged_on_the_review_card(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await submit(world, "\u0410lice", 3)  # Cyrillic А
        _, card = await open_review(world)
    fields = {field["name"]: field["value"] for field in card.embeds[0]["fields"]}
    assert fields["Character"].startswith("New character, looks like **Alice**")


@pytest.mark.parametrize("name", ["\u202eukim enustah", "Hatsune\u200bMiku", "Mi\x00ku"])
async def test_invisible_characters_in_a_submitted_name_are_refused(
    world: World, bot_settings: Settings, name: str
) -> None:
    async with running_bot(bot_settings, world.emu):
        reply = await submit(world, name, 4)
    assert reply.ephemeral and "invisible or control characters" in reply.content


async def test_a_real_png_declared_as_octet_stream_is_accepted(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        png = encode(draw_character(BLONDE, seed=150))
        untyped = world.emu.add_attachment(png, "alice.png", "application/octet-stream")
        answer = await (await world.member.slash("identify", image=untyped)).final()
    assert answer.embeds[0]["title"] == "This looks like Alice"


async def test_the_review_card_warns_of_a_black_and_white_picture(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        grey = encode(draw_character(GREEN_HAIR, seed=21).convert("L"), "PNG")
        image = world.emu.add_attachment(grey, "page.png", "image/png")
        await (await world.member.slash("enroll", character="Midori", image=image)).until(lambda r: bool(r.content))
        _, card = await open_review(world)
    fields = {field["name"]: field["value"] for field in card.embeds[0]["fields"]}
    assert fields["⚠ Picture"] == f"• {DESCRIPTIONS[MONOCHROME]}"
