"""`waifu-bot run` against the emulator: connects with DISCORD_TOKEN, stops cleanly on SIGTERM, exit code 0."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import pytest
from pydantic import SecretStr

from bot.cli import run_cmd
from bot.cli.common import UsageError
from bot.config import Settings
from bot.inference import create_analyzer
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from tests.cogs.conftest import World


class ClosingRecorder:
    """The analyzer `run` chose, recording its close (the bot and its services must leave it to `run`)."""

    def __init__(self, inner: Analyzer) -> None:
        self.inner = inner
        self.closes = 0

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        return await self.inner.analyze(job)

    async def close(self) -> None:
        self.closes += 1
        await self.inner.close()


async def test_run_connects_and_stops_cleanly_on_sigterm(world: World, bot_settings: Settings) -> None:
    bot_settings.discord_token = SecretStr(world.emu.token)
    args = argparse.Namespace(auto_identify=False, healthcheck=False)
    running = asyncio.create_task(run_cmd.run(args, bot_settings))
    async with asyncio.timeout(20):
        await world.emu.identified.wait()
        await world.emu.synced.wait()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 20) == 0
    assert world.emu.identifies[0]["token"] == world.emu.token


async def test_run_opens_one_analyzer_lends_it_to_the_bot_and_closes_it_once(
    world: World, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[ClosingRecorder] = []

    def recording_create_analyzer(settings: Settings) -> ClosingRecorder:
        chosen.append(ClosingRecorder(create_analyzer(settings)))
        return chosen[-1]

    monkeypatch.setattr("bot.inference.create_analyzer", recording_create_analyzer)  # run imports it late
    bot_settings.discord_token = SecretStr(world.emu.token)
    args = argparse.Namespace(auto_identify=False, healthcheck=False)
    running = asyncio.create_task(run_cmd.run(args, bot_settings))
    async with asyncio.timeout(20):
        await world.emu.synced.wait()
    assert len(chosen) == 1 and chosen[0].closes == 0
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 20) == 0
    assert chosen[0].closes == 1


async def test_run_without_a_token_is_a_usage_error(bot_settings: Settings) -> None:
    args = argparse.Namespace(auto_identify=False, healthcheck=False)
    with pytest.raises(UsageError, match="DISCORD_TOKEN is not set"):
        await run_cmd.run(args, bot_settings)


async def test_healthcheck_fails_when_no_bot_is_running(bot_settings: Settings) -> None:
    args = argparse.Namespace(auto_identify=False, healthcheck=True)
    assert await run_cmd.run(args, bot_settings) == 1
