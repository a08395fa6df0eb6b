"""The why-not card end to end: a PNG beside the embed, within Discord's upload limit, references by rating."""

from __future__ import annotations

import io

from PIL import Image

from bot.config import Settings
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.discord_emulator.limits import UPLOAD_LIMIT
from tests.drawing import BLONDE, GREEN_HAIR


def card_of(files: dict[str, bytes]) -> Image.Image:
    """The attached card, checked to be a PNG by its bytes (Discord trusts no declared type either)."""
    data = files["whynot.png"]
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert 0 < len(data) <= UPLOAD_LIMIT
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


async def test_slash_whynot_attaches_a_card_and_keeps_the_text(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        reply = await (await world.member.slash("whynot", character="Bea", image=world.picture(BLONDE, 21))).final()
    card = card_of(reply.files)
    embed = reply.embeds[0]
    assert embed["image"]["url"] == "attachment://whynot.png"
    assert embed["title"] == "Why (not) Bea?" and {f["name"] for f in embed["fields"]} == {"For Bea", "Against Bea"}
    assert card.width >= 3 * 256, "the picture, Bea's reference and the best match's side by side"
    assert reply.data["allowed_mentions"] == {"parse": []}


async def test_message_menu_whynot_attaches_the_card_too(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        posted = world.emu.add_message(
            world.member.channel, world.other.user, attachments=[world.picture(GREEN_HAIR, seed=22)]
        )
        opened = await (await world.member.message_command("Why (not) this character?", posted)).answer()
        handle = await world.member.submit_modal(opened.data, {"Character name or alias": "Alice"})
        reply = await handle.until(lambda r: bool(r.embeds))
    card_of(reply.files)
    assert reply.embeds[0]["image"]["url"] == "attachment://whynot.png"
