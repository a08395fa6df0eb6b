"""Failures an operator must fix, seen from Discord: one log line for them, a plain answer for members.

And no "exception was never retrieved": every task the bot makes is awaited or logs its own failure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import socket
from typing import Any

import discord
import pytest
from pydantic import SecretStr

from bot.cli import run_cmd
from bot.config import Settings
from bot.discord_adapter.replies import APOLOGY, STORE_UNAVAILABLE
from bot.errors import InferenceFailed, StoreUnavailable, UsageError
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from tests.cogs.conftest import World, running_bot
from tests.drawing import BLONDE

OPERATOR_LINE = "The database /srv/waifu/waifu.sqlite3 is damaged (SQLITE_CORRUPT); restore it from a backup."


class TimingOut:
    """An analyzer whose job never finishes in time: the bot side of a pool job timeout."""

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        never = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(never, timeout=0.05)
        except TimeoutError:
            raise InferenceFailed("The recognizer took too long on that picture; try again later.") from None
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Nothing to release."""


def assert_nothing_unretrieved(reports: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    gc.collect()  # a forgotten failed future reports itself when it is collected
    messages = [str(report.get("message")) for report in reports] + [record.getMessage() for record in caplog.records]
    assert not [message for message in messages if "never retrieved" in message], messages


async def test_a_store_failure_is_an_operator_log_line_and_a_plain_answer(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reports.append(context))
    caplog.set_level(logging.INFO)
    async with running_bot(bot_settings, world.emu) as bot:

        async def failing(*_args: object, **_kwargs: object) -> None:
            raise StoreUnavailable(OPERATOR_LINE)

        monkeypatch.setattr(bot.services.identify, "identify", failing)
        handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=1))
        reply = await handle.until(lambda r: bool(r.content))
        assert reply.content == STORE_UNAVAILABLE and reply.ephemeral
        assert "sqlite3" not in reply.content

        async def bug(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(bot.services.identify, "identify", bug)
        handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=2))
        assert (await handle.until(lambda r: bool(r.content))).content == APOLOGY
    operator = [r for r in caplog.records if r.levelno == logging.ERROR and OPERATOR_LINE in r.getMessage()]
    assert len(operator) == 1
    assert_nothing_unretrieved(reports, caplog)


async def test_a_job_timeout_is_answered_and_leaves_no_unretrieved_exception(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reports.append(context))
    caplog.set_level(logging.INFO)
    async with running_bot(bot_settings, world.emu, analyzer=TimingOut()):
        for seed in range(3):
            handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=seed))
            reply = await handle.until(lambda r: bool(r.content))
            assert "took too long" in reply.content
    assert_nothing_unretrieved(reports, caplog)


async def test_an_unreachable_discord_is_one_line_naming_it(
    world: World, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:  # bound, never listening: connecting is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
        bot_settings.discord_token = SecretStr(world.emu.token)
        args = argparse.Namespace(auto_identify=False, healthcheck=False)
        with pytest.raises(UsageError) as refused:
            await asyncio.wait_for(run_cmd.run(args, bot_settings), 60)
    message = refused.value.user_message
    assert "Cannot reach Discord" in message and f":{port}" in message
    assert "\n" not in message
