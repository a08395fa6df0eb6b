"""/stats end to end: counts, the queue, the weakest characters and a histogram PNG, mentions disabled."""

from __future__ import annotations

import io

from PIL import Image

from bot.config import Settings
from tests.cogs.conftest import World, enroll_approved, enroll_cast, running_bot
from tests.cogs.test_not_right import correct, not_right_ids
from tests.discord_emulator.limits import UPLOAD_LIMIT
from tests.drawing import BLONDE, GREEN_HAIR


async def test_stats_answers_with_counts_and_a_histogram(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await enroll_approved(bot, "Midori", GREEN_HAIR, range(400, 402), guild_id=world.guild.id)
        ack = await (
            await world.member.slash("enroll", character="Midori", image=world.picture(GREEN_HAIR, seed=410))
        ).until(lambda r: bool(r.content))
        reply = await (await world.member.slash("stats")).final()
    assert "submission #" in ack.content
    embed = reply.embeds[0]
    assert (
        "**4** characters, **17** approved references (per character: min 2, median 5, max 5)" in embed["description"]
    )
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Pending"].startswith("1 (oldest: 0 min)")
    assert fields["Fewest references"].splitlines()[0] == "**Midori** · 2"
    assert embed["image"]["url"] == "attachment://references.png"
    chart = reply.files["references.png"]
    assert chart.startswith(b"\x89PNG") and len(chart) <= UPLOAD_LIMIT
    assert Image.open(io.BytesIO(chart)).format == "PNG"
    assert reply.data["allowed_mentions"] == {"parse": []}


async def test_a_not_right_correction_shows_as_the_most_confused(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        alice = await bot.services.characters.resolve("Alice", guild_id=world.guild.id)
        posted = world.emu.add_message(world.member.channel, world.other.user, attachments=[world.picture(BLONDE, 61)])
        handle = await world.member.message_command("Identify character", posted)
        answer = await handle.until(lambda r: bool(r.embeds))
        (custom_id,) = not_right_ids(answer)
        thanks = await correct(world, world.emu.messages[handle.original_id], custom_id, "Goldie")
        reply = await (await world.member.slash("stats")).final()
    assert answer.embeds[0]["title"] == "This looks like Alice"
    assert custom_id == f"notright:{posted['channel_id']}:{posted['id']}:0:{alice.id}", "the button names Alice"
    assert "submission #" in thanks.content
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Most corrected in the last 30 days"] == "**Alice** · corrected 1 time, mostly to **Goldie**"
    assert reply.data["allowed_mentions"] == {"parse": []}
