"""The Discord client: opens the services, loads the cogs, syncs commands, and closes everything in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

import aiohttp
import discord
from discord.ext import commands

from bot.app import Services, open_services
from bot.config import Settings
from bot.discord_adapter.tree import WaifuTree
from bot.errors import UsageError
from bot.recognition.analysis import Analyzer

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.identify",
    "cogs.whynot",
    "cogs.enroll",
    "cogs.review",
    "cogs.characters",
    "cogs.settings",
    "cogs.stats",
    "cogs.similar",
    "cogs.tags",
)
HEARTBEAT_SECONDS = 30.0
HEARTBEAT_STALE_SECONDS = 120.0
SHUTDOWN_GRACE_SECONDS = 10.0
"""How long a shutdown waits for answers being worked on (a user would otherwise watch "thinking..." forever)."""
IN_FLIGHT_TASKS = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch",
    "discord-ui-modal-dispatch",
    "discord-ui-dynamic-item",
    "discord.py: on_message",
)
"""Names discord.py gives the tasks that serve commands, buttons, modals and messages."""


def required_intents(*, auto_identify: bool) -> discord.Intents:
    """The least the features need: guilds for channels and roles; messages and their content only for auto-identify."""
    intents = discord.Intents.none()
    intents.guilds = True
    if auto_identify:
        intents.guild_messages = True
        intents.message_content = True
    return intents


def heartbeat_path(settings: Settings) -> Path:
    """The file a connected bot touches, so a container healthcheck can tell it is alive."""
    return settings.data_dir / "discord-heartbeat"


def heartbeat_is_fresh(settings: Settings, *, now: float | None = None) -> bool:
    """Whether the bot touched its heartbeat file recently (the Docker healthcheck)."""
    path = heartbeat_path(settings)
    if not path.is_file():
        return False
    return (now or time.time()) - path.stat().st_mtime < HEARTBEAT_STALE_SECONDS


def explained(error: BaseException) -> BaseException:
    """Discord's refusals an operator can fix, as one-line usage errors (the token itself is never shown)."""
    if isinstance(error, discord.LoginFailure):
        return UsageError("Discord refused the bot token (401): copy the token again from the developer portal.")
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return UsageError(
            "Discord refused the Message Content intent that --auto-identify needs: enable it for the bot "
            "in the developer portal, or run without --auto-identify."
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        return UsageError(
            f"Cannot reach Discord at {error.host}:{error.port} ({error.strerror or error.os_error}): "
            f"check this machine's network and proxy settings."
        )
    if isinstance(error, discord.GatewayNotFound | aiohttp.ClientConnectionError | OSError):
        return UsageError(f"Cannot reach Discord's gateway ({error}): check this machine's network and proxy settings.")
    return error


def _log_if_failed(task: asyncio.Task[None]) -> None:
    """A background task that dies says so at once in the log (its exception is retrieved, never left behind)."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("background task %s stopped", task.get_name(), exc_info=error)


class WaifuBot(commands.Bot):
    """A `commands.Bot` whose state is the core `Services` (guild settings included) and an HTTP session.

    An analyzer given to it (the pool `waifu-bot run` started) stays the giver's to close; without one, the
    services make an in-process analyzer and close it themselves.
    """

    services: Services
    http_session: aiohttp.ClientSession

    def __init__(
        self,
        settings: Settings,
        *,
        auto_identify: bool = False,
        analyzer: Analyzer | None = None,
        **options: object,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=required_intents(auto_identify=auto_identify),
            allowed_mentions=discord.AllowedMentions.none(),
            owner_ids=set(settings.discord.owner_ids),
            tree_cls=WaifuTree,
            **options,  # type: ignore[arg-type]
        )
        self.settings = settings
        self.auto_identify = auto_identify
        self._given_analyzer = analyzer
        self._opened: list[object] = []
        self._background: list[asyncio.Task[None]] = []

    async def setup_hook(self) -> None:
        """Open the services (one store, one migration), load the cogs, and make the commands known to Discord."""
        self.services = await open_services(self.settings, analyzer=self._given_analyzer)
        self._opened.append(self.services)
        self.http_session = aiohttp.ClientSession()
        self._opened.append(self.http_session)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        self._background.append(asyncio.create_task(self._beat(), name="waifu-heartbeat"))
        if self.settings.recognition.refresh_seconds > 0:
            every = self.settings.recognition.refresh_seconds
            self._background.append(asyncio.create_task(self._follow_changes(every), name="waifu-follow-changes"))
        for task in self._background:
            task.add_done_callback(_log_if_failed)
        log.info("waifu-bot ready to connect: %d characters in the gallery", self.services.gallery.character_count)

    async def sync_commands(self) -> None:
        """Sync to the test guild (instant) when configured, else globally (may take a while to appear)."""
        guild_id = self.settings.discord.test_guild_id
        if guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        log.info("synced %d application commands (%s)", len(synced), f"guild {guild_id}" if guild_id else "global")

    async def _beat(self) -> None:
        path = heartbeat_path(self.settings)
        await self.wait_until_ready()
        while True:
            if not self.is_closed() and self.ws is not None and self.ws.open:
                with contextlib.suppress(OSError):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _follow_changes(self, every_seconds: float) -> None:
        """Reload what other processes (the CLI, another bot on the same database) changed; never dies of an error."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                reloaded = await self.services.refresh()
            except Exception:
                log.exception("could not read changes from the store; trying again in %g s", every_seconds)
                continue
            if reloaded:
                log.info("reloaded %d characters changed in the store", reloaded)

    async def _finish_in_flight(self) -> None:
        """Let the commands and buttons being served finish (for a while) before the connection and store go."""
        current = asyncio.current_task()
        serving = [
            task
            for task in asyncio.all_tasks()
            if task is not current and not task.done() and task.get_name().startswith(IN_FLIGHT_TASKS)
        ]
        if not serving:
            return
        log.info("shutting down: waiting up to %g s for %d answers in progress", SHUTDOWN_GRACE_SECONDS, len(serving))
        _, unfinished = await asyncio.wait(serving, timeout=SHUTDOWN_GRACE_SECONDS)
        if unfinished:
            log.warning("shutting down with %d answers unfinished", len(unfinished))

    async def close(self) -> None:
        """Finish answers in progress, disconnect, then close what `setup_hook` opened, newest first."""
        if not self.is_closed():
            await self._finish_in_flight()
        await super().close()
        while self._background:
            task = self._background.pop()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.debug("background task %s had failed (logged when it stopped)", task.get_name())
        while self._opened:
            resource = self._opened.pop()
            try:
                await resource.close()  # type: ignore[attr-defined]
            except Exception:
                log.exception("error while closing %r", resource)
