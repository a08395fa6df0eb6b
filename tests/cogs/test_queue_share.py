"""Issue 13: one member cannot fill the recognizer's queue; the pool knows each job's Discord user."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.inference import InferencePool
from tests.bot.inference.engines import gated_engine
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.drawing import BLONDE, BLUE_HAIR

WITHIN = 120.0
"""Hang guard for answers that wait on a worker process (spawning one costs seconds on a busy machine)."""


async def test_a_members_third_queued_picture_is_refused_while_another_members_is_taken(
    world: World, bot_settings: Settings
) -> None:
    pool_settings = bot_settings.pool.model_copy(update={"workers": 1, "max_queued_per_owner": 2, "job_timeout": 120})
    settings = bot_settings.model_copy(update={"pool": pool_settings})
    settings.discord.identify_per_minute = 30  # the cooldown is not what this test is about
    pool = InferencePool(settings, gated_engine)
    await pool.start()
    try:
        async with running_bot(settings, world.emu, analyzer=pool) as bot:
            await enroll_cast(bot)  # references pass the gate: they are analysed without a face split
            mine = [await world.member.slash("identify", image=world.picture(BLONDE, seed=seed)) for seed in range(3)]
            answers = [asyncio.ensure_future(handle.answer(within=WITHIN)) for handle in mine]
            first, _ = await asyncio.wait(answers, return_when=asyncio.FIRST_COMPLETED)
            refused = first.pop().result()  # the other two are held at the gate, so this one answers first
            assert "You already have 2 pictures waiting" in refused.content and refused.ephemeral
            theirs = await world.other.slash("identify", image=world.picture(BLUE_HAIR, seed=9))
            (settings.data_dir / "gate-open").touch()
            assert (await theirs.until(lambda r: bool(r.embeds), within=WITHIN)).embeds[0]["title"] == (
                "This looks like Bea"
            )
            held = [handle for handle in mine if refused not in handle.answers]
            for handle in held:
                reply = await handle.until(lambda r: bool(r.embeds), within=WITHIN)
                assert reply.embeds[0]["title"] == "This looks like Alice"
            await asyncio.gather(*answers)
            assert pool.health().jobs_busy == 1
    finally:
        await pool.close()
