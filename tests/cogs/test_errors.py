"""Bad input is answered privately and clearly; a bug gets an apology, never a traceback."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
from bot.discord_adapter.replies import APOLOGY
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from models.errors import ImageRejected
from models.intake import load_image
from tests.cogs.conftest import World, running_bot
from tests.drawing import BLONDE, draw_character, encode


async def identify_reply(world: World, attachment: dict) -> str:
    handle = await world.member.slash("identify", image=attachment)
    reply = await handle.until(lambda r: bool(r.content))
    assert reply.ephemeral
    return reply.content


async def test_non_image_attachment_is_refused_by_its_bytes(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        text = world.emu.add_attachment(b"hello there", "notes.txt", "text/plain")
        content = await identify_reply(world, text)
    assert content == "`notes.txt` is not a picture; send a PNG, JPEG, GIF, WebP or BMP image."
    assert world.emu.downloads == ["notes.txt"]  # the declared type is only a hint: the first bytes decide


async def test_non_image_bytes_claiming_to_be_png_are_refused_by_magic_bytes(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu):
        liar = world.emu.add_attachment(b"%PDF-1.7 not a picture", "cat.png", "image/png")
        content = await identify_reply(world, liar)
    assert content == "`cat.png` is not a picture; send a PNG, JPEG, GIF, WebP or BMP image."
    assert world.emu.downloads == ["cat.png"]  # refused after reading its first bytes


async def test_oversized_attachment_is_refused_before_download(world: World, bot_settings: Settings) -> None:
    bot_settings.images.max_bytes = 10_000
    async with running_bot(bot_settings, world.emu):
        big = world.emu.add_attachment(encode(draw_character(BLONDE, seed=1, size=(600, 600)), "BMP"), "big.bmp")
        content = await identify_reply(world, big)
    assert content == "That file is 1.0 MB; the limit is 10 KB. Send a smaller picture."
    assert world.emu.downloads == []  # refused from the declared size, nothing downloaded


async def test_truncated_picture_is_answered_clearly(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        whole = encode(draw_character(BLONDE, seed=2), "JPEG")
        broken = world.emu.add_attachment(whole[: len(whole) // 3], "broken.jpg", "image/jpeg")
        content = await identify_reply(world, broken)
    with pytest.raises(ImageRejected) as rejected:
        load_image(whole[: len(whole) // 3])
    assert content == rejected.value.user_message


class ExplodingAnalyzer:
    """An analyzer with a bug: the user must get an apology and the log the traceback."""

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        raise RuntimeError("secret internal detail")

    async def close(self) -> None:
        return None


async def test_unexpected_error_gets_an_apology_and_the_log_gets_the_traceback(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(bot_settings, world.emu, analyzer=ExplodingAnalyzer()):
        with caplog.at_level(logging.ERROR, logger="bot.discord_adapter.replies"):
            content = await identify_reply(world, world.picture(BLONDE, seed=3))
    assert content == APOLOGY
    assert "secret internal detail" not in content
    assert any(record.exc_info and "secret internal detail" in str(record.exc_info[1]) for record in caplog.records)
    sent = [str(r.json) for r in world.emu.requests if r.json]
    assert not any("secret internal detail" in body or "Traceback" in body for body in sent)


async def test_picture_commands_are_rate_limited_per_user_at_the_configured_rate(
    world: World, bot_settings: Settings
) -> None:
    bot_settings.discord.identify_per_minute = 2
    async with running_bot(bot_settings, world.emu):
        answers = [
            await identify_reply(world, world.emu.add_attachment(b"plain text", f"n{i}.txt", "text/plain"))
            for i in range(2 + 1)
        ]
        someone_else = await (
            await world.other.slash("identify", image=world.emu.add_attachment(b"x", "o.txt", "text/plain"))
        ).until(lambda r: bool(r.content))
    assert all(
        answer.endswith("is not a picture; send a PNG, JPEG, GIF, WebP or BMP image.") for answer in answers[:-1]
    )
    assert answers[-1].startswith("Slow down: try this again in ") and answers[-1].endswith(" s.")
    assert "is not a picture" in someone_else.content


async def test_the_identify_message_menu_is_rate_limited_too(world: World, bot_settings: Settings) -> None:
    rate = bot_settings.discord.identify_per_minute  # the default
    async with running_bot(bot_settings, world.emu):
        message = world.emu.add_message(world.member.channel, world.other.user, content="no picture here")
        answers = [
            (await (await world.member.message_command("Identify character", message)).answer()).content
            for _ in range(rate + 1)
        ]
    assert all(answer.startswith("That message has no pictures") for answer in answers[:-1])
    assert answers[-1].startswith("Slow down: try this again in ")


async def test_bad_pictures_are_refused_the_same_way_on_enroll(world: World, bot_settings: Settings) -> None:
    bot_settings.images.max_bytes = 10_000
    async with running_bot(bot_settings, world.emu):
        replies = []
        for attachment in (
            world.emu.add_attachment(b"%PDF-1.7", "doc.png", "image/png"),
            world.emu.add_attachment(encode(draw_character(BLONDE, seed=1, size=(600, 600)), "BMP"), "big.bmp"),
        ):
            handle = await world.member.slash("enroll", character="Alice", image=attachment)
            replies.append(await handle.until(lambda r: bool(r.content)))
    assert all(reply.ephemeral for reply in replies)
    assert replies[0].content == "`doc.png` is not a picture; send a PNG, JPEG, GIF, WebP or BMP image."
    assert replies[1].content == "That file is 1.0 MB; the limit is 10 KB. Send a smaller picture."
