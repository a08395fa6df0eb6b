"""Fixtures of the end-to-end cog tests: the emulator, a running WaifuBot against it, users and pictures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.discord_adapter.client import WaifuBot
from bot.recognition.analysis import Analyzer
from models.palette import ensure_palette_tagger
from tests.discord_emulator import DiscordEmulator, Guild, UserActions, pointed_at
from tests.discord_emulator import payloads as p
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR, Design, draw_character, encode


@pytest.fixture(scope="session")
def palette_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The palette tagger, built once for the whole session (each bot's data dir links to it)."""
    root = tmp_path_factory.mktemp("palette-models")
    ensure_palette_tagger(root)
    return root


@pytest.fixture
def bot_settings(settings: Settings, palette_models: Path) -> Settings:
    """Isolated settings whose generated-model folder is the shared, prebuilt palette tagger."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.generated_model_dir.symlink_to(palette_models, target_is_directory=True)
    settings.discord.notify_submitter = True
    return settings


@dataclass
class World:
    """The emulated Discord, its guild, and the people in it."""

    emu: DiscordEmulator
    guild: Guild
    owner: UserActions
    moderator: UserActions
    member: UserActions
    other: UserActions
    developer: UserActions
    """The bot application's owner (may promote), without server permissions."""

    def picture(self, design: Design, seed: int, *, fmt: str = "PNG", filename: str = "picture.png") -> dict:
        """An attachment payload of a freshly drawn character."""
        content_type = {"PNG": "image/png", "JPEG": "image/jpeg"}[fmt]
        return self.emu.add_attachment(encode(draw_character(design, seed=seed), fmt), filename, content_type)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """A started emulator with one guild, its owner (Manage Server), a moderator-role member and two members."""
    emu = DiscordEmulator()
    await emu.start()
    guild = emu.add_guild()
    mod_role = int(guild.roles[1]["id"])
    owner = UserActions(emu, guild, emu.owner, permissions=p.MANAGE_GUILD)
    moderator = UserActions(emu, guild, emu.add_member(guild, "mod", roles=[mod_role]))
    member = UserActions(emu, guild, emu.add_member(guild, "member"))
    other = UserActions(emu, guild, emu.add_member(guild, "other"))
    with pointed_at(emu):
        try:
            developer = UserActions(emu, guild, emu.developer)
            yield World(emu, guild, owner, moderator, member, other, developer)
        finally:
            await emu.close()


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, emu: DiscordEmulator, *, auto_identify: bool = False, analyzer: Analyzer | None = None
) -> AsyncIterator[WaifuBot]:
    """A WaifuBot logged in to the emulator, its commands synced and its guilds received; closed after."""
    emu.synced.clear()
    bot = WaifuBot(settings, auto_identify=auto_identify, analyzer=analyzer, guild_ready_timeout=0.01)
    runner = asyncio.create_task(bot.start(emu.token))
    try:
        async with asyncio.timeout(30):
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait({ready, runner}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                ready.cancel()
                runner.result()
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await runner


async def enroll_approved(bot: WaifuBot, name: str, design: Design, seeds: range, **fields: Any) -> None:
    """Operator enrollment (approved at once) of several drawn pictures, as `waifu-bot enroll` would."""
    for seed in seeds:
        await bot.services.enrollment.enroll_approved(name, encode(draw_character(design, seed=seed)), **fields)


async def enroll_cast(bot: WaifuBot) -> None:
    """Three global characters with five references each."""
    await enroll_approved(bot, "Alice", BLONDE, range(100, 105), series="Wonderland")
    await enroll_approved(bot, "Bea", BLUE_HAIR, range(200, 205), series="Ocean")
    await enroll_approved(bot, "Pia", PINK_HAIR, range(300, 305), series="Sakura", aliases=("ピア",))
