""" "Not right?" end to end: correct an answer, a moderator approves, the bot now knows; stale and forged buttons."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.discord_emulator import InteractionHandle, Reply
from tests.drawing import BLONDE, GREEN_HAIR

FORM = "Character name or alias"


def not_right_ids(reply: Reply) -> list[str]:
    """The custom ids of the answer's "Not right?" buttons."""
    return [custom_id for custom_id in reply.custom_ids() if custom_id.startswith("notright:")]


async def identify_posted(world: World, seed: int) -> tuple[dict, dict, Reply]:
    """Another member posts a GREEN_HAIR picture; a member identifies it with the message menu."""
    picture = world.picture(GREEN_HAIR, seed)
    posted = world.emu.add_message(world.member.channel, world.other.user, attachments=[picture])
    handle = await world.member.message_command("Identify character", posted)
    answer = await handle.until(lambda r: bool(r.embeds))
    return posted, world.emu.messages[handle.original_id], answer


async def correct(world: World, answer_message: dict, custom_id: str, name: str) -> Reply:
    """Press "Not right?", name the character in the form, and return the private acknowledgement."""
    opened = await (await world.member.press(answer_message, custom_id)).answer()
    assert opened.callback_type == 9, opened.data
    handle: InteractionHandle = await world.member.submit_modal(opened.data, {FORM: name, "Series (optional)": ""})
    return await handle.until(lambda r: bool(r.content))


async def approve_all(world: World, count: int) -> None:
    """The server owner approves `count` pending submissions with /review."""
    handle = await world.owner.slash("review")
    await handle.until(lambda r: bool(r.embeds))
    card = world.emu.messages[max(world.emu.messages)]
    for _ in range(count):
        approve = next(c for c in world.emu.messages[int(card["id"])]["components"][0]["components"]
                       if c["label"] == "Approve")  # fmt: skip
        update = await (await world.owner.press(card, approve["custom_id"])).answer()
        assert update.content.startswith("Approved #")


async def test_not_right_then_review_teaches_the_bot(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        posted, answer_message, answer = await identify_posted(world, seed=51)
        assert answer.embeds[0]["title"] == "Unknown character"
        (custom_id,) = not_right_ids(answer)
        assert custom_id == f"notright:{posted['channel_id']}:{posted['id']}:0"
        downloads = len(world.emu.downloads)
        thanks = await correct(world, answer_message, custom_id, "Midori")
        pending = await bot.services.store.next_pending(guild_id=world.guild.id)
        assert len(world.emu.downloads) == downloads + 1, "the picture is fetched again from its message"
        for seed in (52, 53):
            _, message, later = await identify_posted(world, seed)
            await correct(world, message, not_right_ids(later)[0], "Midori")
        await approve_all(world, 3)
        after = await (await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=55))).final()
    assert thanks.ephemeral and "Your picture of **Midori** (a new character) is submission #" in thanks.content
    assert pending is not None and pending.status.value == "pending"
    assert pending.source == f"https://discord.com/channels/{world.guild.id}/{posted['channel_id']}/{posted['id']}"
    assert after.embeds[0]["title"] == "This looks like Midori"


async def test_a_not_right_button_from_before_a_restart_still_works(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        _, answer_message, answer = await identify_posted(world, seed=61)
    async with running_bot(bot_settings, world.emu) as restarted:
        thanks = await correct(world, answer_message, not_right_ids(answer)[0], "Midori")
        pending = await restarted.services.store.next_pending(guild_id=world.guild.id)
    assert "submission #" in thanks.content and pending is not None


async def test_slash_answers_carry_their_picture_and_can_be_corrected(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=71))
        answer = await handle.final()
        answer_message = world.emu.messages[max(world.emu.messages)]
        (custom_id,) = not_right_ids(answer)
        thanks = await correct(world, answer_message, custom_id, "Midori")
        pending = await bot.services.store.next_pending(guild_id=world.guild.id)
    assert any(name.startswith("query.") for name in answer.files)
    assert custom_id == f"notright:{world.member.channel['id']}:0:0"
    assert "submission #" in thanks.content
    assert pending.source.endswith(f"/{answer_message['channel_id']}/{answer_message['id']}")


async def test_forged_and_stale_buttons_say_so_privately(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        posted, answer_message, _ = await identify_posted(world, seed=81)
        channel = posted["channel_id"]
        forged = [
            "notright:garbage",
            f"notright:{channel}:{posted['id']}:12",
            f"notright:{channel}:{'9' * 20}:0",
            f"notright:123456789:{posted['id']}:0",  # a channel outside this guild
        ]
        gone = world.emu.add_message(world.member.channel, world.other.user, content="no pictures here")
        stale = f"notright:{channel}:{gone['id']}:0"
        buttons = [{"type": 2, "style": 2, "label": "Not right?", "custom_id": cid} for cid in [*forged, stale]]
        # Discord only sends ids of buttons on the message: put the forged ones on a message of the bot
        world.emu.messages[int(answer_message["id"])]["components"] = [
            {"type": 1, "components": buttons[:4]},
            {"type": 1, "components": buttons[4:]},
        ]
        replies = [await (await world.member.press(answer_message, custom_id)).answer() for custom_id in forged]
        opened = await (await world.member.press(answer_message, stale)).answer()
        handle = await world.member.submit_modal(opened.data, {FORM: "Midori", "Series (optional)": ""})
        missing = await handle.until(lambda r: bool(r.content))
        pending = await bot.services.store.next_pending(guild_id=world.guild.id)
    assert all(r.ephemeral and r.content == "This button is no longer valid." for r in replies)
    assert missing.ephemeral and "no longer in its message" in missing.content
    assert pending is None


async def test_auto_identify_answers_carry_not_right_too(world: World, bot_settings: Settings) -> None:
    general = world.guild.channels[0]
    async with running_bot(bot_settings, world.emu, auto_identify=True) as bot:
        await enroll_cast(bot)
        await (await world.owner.slash("settings", "autoidentify", channel=general, enabled=True)).answer()
        posted = await world.member.post("who is this?", attachments=[world.picture(BLONDE, seed=31)])
        async with asyncio.timeout(10):
            while not world.emu.requests_to("POST", f"/channels/{general['id']}/messages"):
                await world.emu.recorded.wait()
                world.emu.recorded.clear()
        reply = world.emu.messages[max(world.emu.messages)]
        custom_id = reply["components"][0]["components"][0]["custom_id"]
        thanks = await correct(world, reply, custom_id, "Bea")
        alice = await bot.services.characters.resolve("Alice", guild_id=world.guild.id)
    assert custom_id == f"notright:{general['id']}:{posted['id']}:0:{alice.id}", "the answer named Alice"
    assert "Your picture of **Bea** is submission #" in thanks.content
