"""`waifu-bot run`: start the Discord bot with DISCORD_TOKEN; `--healthcheck` is the container's liveness probe."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bot.cli.common import UsageError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("run", help="run the Discord bot (token from DISCORD_TOKEN)")
    parser.add_argument(
        "--auto-identify",
        action="store_true",
        help="ask Discord for message content, so /settings autoidentify channels work (a privileged intent)",
    )
    parser.add_argument(
        "--healthcheck", action="store_true", help="exit 0 if a running bot is connected, 1 otherwise (for Docker)"
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run until SIGTERM/SIGINT or a fatal gateway error; close everything on the way out."""
    # discord.py and the models cost seconds: imported only for `run`
    from bot.discord_adapter.client import WaifuBot, explained, heartbeat_is_fresh
    from bot.inference import InferencePool, create_analyzer, install_stop_signals

    if args.healthcheck:
        return 0 if heartbeat_is_fresh(settings) else 1
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise UsageError("DISCORD_TOKEN is not set: create a bot in the Discord developer portal and export its token.")
    logging.getLogger().setLevel(settings.log_level.upper())
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLogger().level))
    # this command opens the analyzer (the pool, or the engine in-process), so this command closes it
    analyzer = await asyncio.to_thread(create_analyzer, settings)  # an in-process engine loads models: off the loop
    try:
        if isinstance(analyzer, InferencePool):
            await analyzer.start()
        bot = WaifuBot(settings, auto_identify=args.auto_identify, analyzer=analyzer)
        stop = asyncio.Event()
        uninstall = install_stop_signals(stop)
        runner = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            uninstall()
            stopper.cancel()
            await bot.close()  # answers in progress finish before the analyzer goes
    finally:
        await analyzer.close()
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        raise explained(runner.exception())  # type: ignore[arg-type]
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    return 0
