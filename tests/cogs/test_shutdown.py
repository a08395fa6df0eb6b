"""Stopping the bot while it works: the answer in progress still reaches the user, and nothing is logged as a bug."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.config import Settings
from bot.inference.engine import build_recognition_engine
from bot.inference.local import LocalAnalyzer
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.drawing import BLONDE


class SlowAnalyzer:
    """The real in-process analyzer, slowed once `slow` is set so a shutdown can land mid-identify."""

    def __init__(self, settings: Settings) -> None:
        self.inner = LocalAnalyzer(build_recognition_engine(settings))
        self.started = asyncio.Event()
        self.slow = False

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        if self.slow:
            self.started.set()
            await asyncio.sleep(0.5)
        return await self.inner.analyze(job)

    async def close(self) -> None:
        await self.inner.close()


async def test_shutdown_during_identify_lets_the_answer_finish(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    analyzer = SlowAnalyzer(bot_settings)
    async with running_bot(bot_settings, world.emu, analyzer=analyzer) as bot:
        await enroll_cast(bot)
        analyzer.slow = True
        handle = await world.member.slash("identify", image=world.picture(BLONDE, seed=80))
        await asyncio.wait_for(analyzer.started.wait(), 10)
        await bot.close()
        reply = await handle.until(lambda r: bool(r.embeds))  # sent before close returned: no speed asked
    assert reply.embeds[0]["title"] == "This looks like Alice"
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
