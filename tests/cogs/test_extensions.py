"""Every cog module is an extension the bot loads, and no two of their commands share a name (without Discord)."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot.config import Settings
from bot.discord_adapter.client import EXTENSIONS, WaifuBot
from bot.discord_adapter.tree import WaifuTree


class CogRecorder:
    """Stands in for the bot in an extension's `setup`: keeps the cogs and loads nothing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cogs: list[commands.Cog] = []

    async def add_cog(self, cog: commands.Cog, **_: Any) -> None:
        self.cogs.append(cog)


def top_level(cog: commands.Cog) -> list[app_commands.Command | app_commands.Group]:
    """A cog's top-level slash commands: a `GroupCog`'s one group, else its commands."""
    return [cog.app_command] if cog.app_command is not None else cog.get_app_commands()


def command_keys(cog: commands.Cog) -> list[tuple[str, str]]:
    """(kind, name) of each top-level command and menu of a cog: Discord wants each unique per kind."""
    slash = [("slash", command.name) for command in top_level(cog)]
    menus = [(menu.type.name, menu.name) for menu in getattr(cog, "menus", [])]
    return slash + menus


def clashes(keys: list[tuple[str, str]]) -> list[str]:
    """The names used more than once within one kind."""
    return sorted(f"{kind} {name!r} x{count}" for (kind, name), count in Counter(keys).items() if count > 1)


def test_every_cog_module_with_a_setup_is_an_extension() -> None:
    with_setup = {
        f"cogs.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if hasattr(importlib.import_module(f"cogs.{module.name}"), "setup")
    }
    assert with_setup == set(EXTENSIONS)


async def test_no_two_commands_of_the_extensions_share_a_name(settings: Settings) -> None:
    recorder = CogRecorder(settings)
    for extension in EXTENSIONS:
        await importlib.import_module(extension).setup(recorder)
    keys = [key for cog in recorder.cogs for key in command_keys(cog)]
    assert {("slash", "identify"), ("slash", "settings"), ("message", "Identify character")} <= set(keys)
    assert not clashes(keys), f"commands that clash: {clashes(keys)}"


def test_a_clash_is_reported_by_kind_and_name() -> None:
    keys = [("slash", "identify"), ("message", "identify"), ("slash", "identify")]
    assert clashes(keys) == ["slash 'identify' x2"]


async def test_moderator_commands_are_hidden_by_default_and_checked_on_use(settings: Settings) -> None:
    recorder = CogRecorder(settings)
    for extension in EXTENSIONS:
        await importlib.import_module(extension).setup(recorder)
    top = {command.name: command for cog in recorder.cogs for command in top_level(cog)}
    manage_guild = discord.Permissions(manage_guild=True)
    for name in ("review", "character", "settings"):
        assert top[name].default_permissions == manage_guild, name
    assert top["promote"].default_permissions == discord.Permissions(administrator=True)
    for name in ("review", "promote"):
        assert top[name].checks, name
    for group in ("character", "settings"):
        subcommands = top[group].commands  # type: ignore[union-attr]
        assert subcommands and all(isinstance(c, app_commands.Command) and c.checks for c in subcommands), group


async def test_the_client_answers_errors_through_its_tree(settings: Settings) -> None:
    bot = WaifuBot(settings)
    assert isinstance(bot.tree, WaifuTree)
