"""The emulator itself: the real discord.py client logs in, syncs, and answers an injected slash command."""

from __future__ import annotations

import asyncio

import discord
from discord.ext import commands

from tests.discord_emulator import DiscordEmulator, UserActions, pointed_at


async def test_plain_bot_logs_in_syncs_and_answers_a_slash_command() -> None:
    emu = DiscordEmulator()
    await emu.start()
    guild = emu.add_guild()
    bot = commands.Bot(
        command_prefix=commands.when_mentioned, intents=discord.Intents.default(), guild_ready_timeout=0.01
    )

    @bot.tree.command(name="ping", description="Answer pong")
    async def ping(interaction: discord.Interaction, word: str) -> None:
        await interaction.response.send_message(f"pong {word} from {interaction.guild.name}", ephemeral=True)

    async def setup_hook() -> None:
        await bot.tree.sync()

    bot.setup_hook = setup_hook
    with pointed_at(emu):
        runner = asyncio.create_task(bot.start(emu.token))
        try:
            async with asyncio.timeout(10):
                await emu.synced.wait()
                await bot.wait_until_ready()
            assert bot.get_guild(guild.id) is not None
            assert emu.identifies[0]["token"] == emu.token
            assert emu.identifies[0]["intents"] == discord.Intents.default().value
            assert [c["name"] for c in emu.commands[None]] == ["ping"]
            user = UserActions(emu, guild, emu.owner)
            handle = await user.slash("ping", word="hi")
            reply = await handle.answer()
            assert reply.callback_type == 4
            assert reply.content == "pong hi from Test Guild"
            assert reply.ephemeral
        finally:
            await bot.close()
            await runner
            await emu.close()
