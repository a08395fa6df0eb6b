"""What careless or hostile users and a misconfigured operator meet: lying attachments, long names, bad tokens."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import socket

import pytest
from PIL import Image
from pydantic import SecretStr

from bot.cli import run_cmd
from bot.cli.common import UsageError
from bot.config import Settings
from bot.services.results import IdentifyResult, Match, RegionResult
from cogs.rendering import identify_embed
from tests.cogs.conftest import World, enroll_approved, enroll_cast, running_bot
from tests.discord_emulator.limits import embed_problems
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR, Design, draw_character, encode


async def logged(caplog: pytest.LogCaptureFixture, text: str, within: float = 10.0) -> bool:
    """Whether a log record containing `text` appears within `within` seconds."""
    for _ in range(int(within / 0.02)):
        if any(text in record.getMessage() for record in caplog.records):
            return True
        await asyncio.sleep(0.02)
    return False


def _png_head() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_attachment_bigger_than_it_declares_is_cut_off_at_the_cap(world: World, bot_settings: Settings) -> None:
    bot_settings.images.max_bytes = 1024 * 1024
    async with running_bot(bot_settings, world.emu):
        liar = world.emu.add_streamed_attachment(_png_head(), 64 * 1024 * 1024, declared=2000, filename="liar.png")
        handle = await world.member.slash("identify", image=liar)
        reply = await handle.until(lambda r: bool(r.content))
    assert reply.ephemeral
    assert reply.content == "That file is larger than the limit of 1.0 MB. Send a smaller picture."
    for _ in range(500):  # the emulator notes how much it sent once the reader has hung up
        if liar["id"] in world.emu.streamed:
            break
        await asyncio.sleep(0.02)
    # the download stopped near the cap (plus what sat in socket buffers), not after all 64 MB
    assert world.emu.streamed[liar["id"]] < 16 * 1024 * 1024


async def test_run_with_a_wrong_token_is_a_usage_error_that_hides_the_token(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-token-" + "x" * 20
    bot_settings.discord_token = SecretStr(secret)
    args = argparse.Namespace(auto_identify=False, healthcheck=False)
    with pytest.raises(UsageError) as refused:  # main() prints a UsageError as one line, exit code 2
        await asyncio.wait_for(run_cmd.run(args, bot_settings), 20)
    assert refused.value.user_message == (
        "Discord refused the bot token (401): copy the token again from the developer portal."
    )
    assert secret not in caplog.text
    assert world.emu.identifies == []


async def test_auto_identify_without_the_intent_enabled_is_a_clear_usage_error(
    world: World, bot_settings: Settings
) -> None:
    world.emu.message_content_allowed = False
    bot_settings.discord_token = SecretStr(world.emu.token)
    args = argparse.Namespace(auto_identify=True, healthcheck=False)
    with pytest.raises(UsageError) as refused:
        await asyncio.wait_for(run_cmd.run(args, bot_settings), 20)
    assert "enable it for the bot in the developer portal, or run without --auto-identify" in str(
        refused.value.user_message
    )


async def test_character_with_many_long_aliases_still_shows_its_info(world: World, bot_settings: Settings) -> None:
    aliases = tuple(f"{index:02d} " + "_alias_" * 13 for index in range(20))  # escaping doubles every "_"
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_approved(bot, "Alice", BLONDE, range(100, 101), series="Wonderland", aliases=aliases)
        info = await (await world.owner.slash("character", "info", character="Alice")).answer()
    assert world.emu.refused == []
    assert info.embeds[0]["title"] == "Alice"
    shown = next(f["value"] for f in info.embeds[0]["fields"] if f["name"] == "Aliases")
    assert shown.startswith("00 \\_alias\\_") and shown.endswith("more")


def _crowd(faces: int, name_length: int) -> IdentifyResult:
    matches = tuple(
        Match(character_id=n, character=f"{n}" + "*" * name_length, series="~" * 200, distance=0.1, confidence=0.5)
        for n in range(5)
    )
    return IdentifyResult(regions=tuple(RegionResult((i, i, i + 9, i + 9), matches, False) for i in range(faces)))


def test_a_crowd_of_faces_with_long_names_fits_discords_embed_limits() -> None:
    embed = identify_embed(_crowd(40, 100))
    assert embed_problems([embed.to_dict()]) == []
    assert "more faces" in embed.fields[-1].name


async def test_four_crowded_pictures_fit_one_message(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        for mark, design in enumerate((BLONDE, BLUE_HAIR, PINK_HAIR)):
            await enroll_approved(bot, f"{mark}" + "*" * 99, design, range(100, 102), series="_" * 200)
        pictures = [world.picture(BLONDE, seed=40 + n, filename=f"{n}{'p' * 250}.png") for n in range(10)]
        message = world.emu.add_message(world.member.channel, world.other.user, attachments=pictures)
        reply = await (await world.member.message_command("Identify character", message)).until(
            lambda r: bool(r.embeds)
        )
    assert world.emu.refused == []
    assert len(reply.embeds) == 4
    assert embed_problems(reply.embeds) == []


async def test_an_embedded_picture_that_cannot_be_fetched_is_answered_not_apologised(
    world: World, bot_settings: Settings
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/gone.png"
    embed = {"type": "image", "url": dead, "image": {"url": dead, "proxy_url": dead}}
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        message = world.emu.add_message(world.member.channel, world.other.user, embeds=[embed])
        reply = await (await world.member.message_command("Identify character", message)).until(
            lambda r: bool(r.embeds)
        )
    assert reply.embeds[0]["title"] == "Could not read this picture"
    assert "attach it instead" in reply.embeds[0]["description"]


async def test_a_rate_limited_followup_is_retried(world: World, bot_settings: Settings) -> None:
    limited = {"message": "You are being rate limited.", "retry_after": 0.3, "global": False}
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        world.emu.fail_next("POST", "/webhooks/", 429, limited, headers={"Retry-After": "0.3", "Via": "1.1 google"})
        handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=50))
        reply = await handle.until(lambda r: bool(r.embeds), within=15)
    assert reply.embeds[0]["title"] == "This looks like Alice"
    assert len(world.emu.requests_to("POST", "/webhooks/")) == 2  # refused once, then sent again


async def test_auto_identify_without_send_permission_is_logged_not_raised(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    general = world.guild.channels[0]
    async with running_bot(bot_settings, world.emu, auto_identify=True) as bot:
        await enroll_cast(bot)
        await (await world.owner.slash("settings", "autoidentify", channel=general, enabled=True)).answer()
        missing = {"message": "Missing Permissions", "code": 50013}
        world.emu.fail_next("POST", f"/channels/{general['id']}/messages", 403, missing)
        await world.member.post("", attachments=[world.picture(BLONDE, seed=51)])
        assert await logged(caplog, "auto-identify cannot reply in channel")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_large_embedded_picture_is_read_whole(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        big = encode(draw_character(BLUE_HAIR, seed=12, size=(700, 700)), "BMP")  # arrives in many chunks
        linked = world.emu.add_attachment(big, "big.bmp", "image/bmp")
        embed = {"type": "image", "url": linked["url"], "image": {"url": linked["url"], "proxy_url": linked["url"]}}
        message = world.emu.add_message(world.member.channel, world.other.user, embeds=[embed])
        reply = await (await world.member.message_command("Identify character", message)).until(
            lambda r: bool(r.embeds)
        )
    assert reply.embeds[0]["title"] == "This looks like Bea"


def _huge_bmp(design: Design, seed: int) -> bytes:
    """A real picture of more than Discord's 10 MiB upload limit (within the bot's own 25 MB cap)."""
    data = encode(draw_character(design, seed=seed, size=(1900, 1900)), "BMP")
    assert len(data) > 10 * 1024 * 1024
    return data


async def test_a_reference_too_large_to_upload_is_not_attached_to_identify(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await bot.services.enrollment.enroll_approved("Alice", _huge_bmp(BLONDE, 100), series="Wonderland")
        reply = await (await world.member.slash("identify", image=world.picture(BLONDE, seed=60))).final()
    assert world.emu.refused == []
    assert reply.embeds[0]["title"] == "This looks like Alice"
    assert "thumbnail" not in reply.embeds[0]


async def test_a_submission_too_large_to_upload_can_still_be_reviewed(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await bot.services.enrollment.submit(
            "Alice", _huge_bmp(BLONDE, 101), guild_id=world.guild.id, user_id=int(world.member.user["id"])
        )
        card = await (await world.owner.slash("review")).until(lambda r: bool(r.embeds) or bool(r.content))
    assert world.emu.refused == []
    assert card.embeds[0]["title"].endswith(": Alice")
    picture = next(f["value"] for f in card.embeds[0]["fields"] if f["name"] == "Picture")
    assert "too large to show here" in picture
    assert any(":approve:" in custom_id for custom_id in card.custom_ids())


async def test_a_very_long_unknown_name_still_gets_an_answer(world: World, bot_settings: Settings) -> None:
    typed = "Alicia " * 500  # Discord lets a plain string option hold 6000 characters
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash("whynot", character=typed, image=world.picture(BLONDE, seed=70))
        reply = await handle.until(lambda r: r.ephemeral and bool(r.content))
    assert world.emu.refused == []
    assert reply.content.startswith("Could not find a character named") and reply.content.endswith("…")
    whynot = next(c for c in world.emu.commands[None] if c["name"] == "whynot")
    assert next(o for o in whynot["options"] if o["name"] == "character")["max_length"] == 100


async def test_an_expired_interaction_is_logged_once_as_a_warning(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = {"message": "Unknown Webhook", "code": 10015}
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        world.emu.fail_next("POST", "/webhooks/", 404, unknown, times=3)  # the 15-minute token ran out
        handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=90))
        assert await logged(caplog, "expired before its answer was sent")
        await asyncio.sleep(0.2)  # time for a second try, were it going to
    assert [r.kind for r in handle.replies] == ["callback"]  # the defer; nothing else could be sent
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(world.emu.requests_to("POST", "/webhooks/")) == 1  # no second try on a dead token


async def test_commands_that_need_a_server_are_not_offered_in_direct_messages(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu):
        synced = {command["name"]: command for command in world.emu.commands[None]}
    server_only = ["character", "enroll", "promote", "review", "settings", "Identify character"]
    server_only += ["Submit as character reference"]
    assert {name: synced[name].get("dm_permission") for name in server_only} == dict.fromkeys(server_only, False)
    assert synced["identify"].get("dm_permission", True) and synced["whynot"].get("dm_permission", True)
