"""Identify end to end: slash command and message menu answer with the right character and a thumbnail."""

from __future__ import annotations

from bot.config import Settings
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR


async def test_slash_identify_names_the_character_with_confidence_and_thumbnail(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=7))
        reply = await handle.final()
    assert handle.replies[0].callback_type == 5  # deferred first: inference may be slow
    assert reply.embeds[0]["title"] == "This looks like Alice"
    assert "1. **Alice** — *Wonderland* · " in reply.embeds[0]["fields"][0]["value"]
    assert reply.embeds[0]["thumbnail"]["url"].startswith("attachment://reference0.")
    assert list(reply.files) and next(iter(reply.files)).startswith("reference0.")
    assert reply.data["allowed_mentions"] == {"parse": []}
    assert not reply.ephemeral


async def test_context_menu_identifies_every_picture_of_a_message(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        message = world.emu.add_message(
            world.member.channel,
            world.other.user,
            attachments=[
                world.picture(BLUE_HAIR, seed=9, filename="a.png"),
                world.picture(BLONDE, 11, filename="b.png"),
            ],
        )
        handle = await world.member.message_command("Identify character", message)
        reply = await handle.until(lambda r: bool(r.embeds))
    progress = [r for r in handle.answers if r.content.startswith("Looking at 2 pictures")]
    assert progress, "multi-image work shows an in-progress message first"
    titles = [embed["title"] for embed in reply.embeds]
    assert titles == ["This looks like Bea", "This looks like Alice"]
    assert [embed["footer"]["text"] for embed in reply.embeds] == ["a.png", "b.png"]


async def test_unknown_character_says_so_and_offers_enrollment(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=3))
        reply = await handle.final()
    assert reply.embeds[0]["title"] == "Unknown character"
    assert "/enroll" in reply.embeds[0]["description"]


async def test_context_menu_reads_pictures_embedded_by_link(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        linked = world.picture(BLUE_HAIR, seed=12, filename="linked.png")
        embed = {
            "type": "image",
            "url": "https://example.invalid/x.png",
            "image": {"url": "https://example.invalid/x.png", "proxy_url": linked["url"]},
        }
        message = world.emu.add_message(world.member.channel, world.other.user, embeds=[embed])
        reply = await (await world.member.message_command("Identify character", message)).until(
            lambda r: bool(r.embeds)
        )
    assert world.emu.downloads == ["linked.png"]
    assert reply.embeds[0]["title"] == "This looks like Bea"


async def test_message_without_pictures_is_answered_privately(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        message = world.emu.add_message(world.member.channel, world.other.user, content="just text")
        reply = await (await world.member.message_command("Identify character", message)).answer()
    assert (
        reply.ephemeral
        and reply.content == "That message has no pictures (attachments or embedded images) to identify."
    )
