""" "Did you mean X?" on /enroll end to end: Use X re-files, Keep as new keeps, only the submitter, forgeries."""

from __future__ import annotations

from bot.config import Settings
from bot.discord_adapter.client import WaifuBot
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.cogs.test_enroll import open_review, submit
from tests.discord_emulator import Reply

STALE = "This button is no longer valid."


def asked(world: World) -> dict:
    """The emulator's copy of the newest message: the private acknowledgement carrying the buttons."""
    return world.emu.messages[max(world.emu.messages)]


def button(reply: Reply, label: str) -> str:
    """The custom id of the reply's button with this label."""
    return next(item["custom_id"] for row in reply.components for item in row["components"] if item["label"] == label)


async def alice_id(bot: WaifuBot) -> int:
    alice = await bot.services.store.find_character("Alice")
    assert alice is not None
    return alice.id


async def test_a_close_new_name_asks_did_you_mean_and_use_files_it_there(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        reply = await submit(world, "Alicee", seed=51)
        message = asked(world)
        use = button(reply, "Use Alice")
        pressed = await (await world.member.press(message, use)).answer()
        reference_id = int(use.split(":")[1])
        reference = await bot.services.store.get_reference(reference_id)
        typed = await bot.services.store.find_character("Alicee", guild_id=world.guild.id)
        _, card = await open_review(world)
        audit = await bot.services.store.audit_log(guild_id=world.guild.id, limit=1)
        alice = await alice_id(bot)
    assert reply.ephemeral and "Your picture of **Alicee** (a new character) is submission #" in reply.content
    assert "Did you mean **Alice**?" in reply.content
    assert reply.custom_ids() == [f"refile:{reference_id}:{alice}", f"refile:{reference_id}:0"]
    assert pressed.callback_type == 7 and pressed.components == []
    assert pressed.content == f"Filed under **Alice** instead: submission #{reference_id}; a moderator will review it."
    assert reference.character_id == alice and reference.status.value == "pending"
    assert typed is None, "the name that existed for this submission alone went with it"
    assert card.embeds[0]["title"] == f"Submission #{reference_id}: Alice"
    assert audit[0].action == "reference.refile" and audit[0].actor_id == int(world.member.user["id"])


async def test_keep_as_new_keeps_the_name_as_typed(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        reply = await submit(world, "Alicee", seed=52)
        kept = await (await world.member.press(asked(world), button(reply, "Keep as new"))).answer()
        typed = await bot.services.store.find_character("Alicee", guild_id=world.guild.id)
        far = await submit(world, "Midori", seed=53)
    assert kept.callback_type == 7
    assert kept.content.startswith("Kept as the new character **Alicee**: submission #")
    assert typed is not None and typed.guild_id == world.guild.id
    assert "Did you mean" not in far.content and far.custom_ids() == [], "a name close to nothing asks nothing"


async def test_only_the_submitter_may_answer(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        reply = await submit(world, "Alicee", seed=54)
        use = button(reply, "Use Alice")
        refused = await (await world.other.press(asked(world), use)).answer()
        reference = await bot.services.store.get_reference(int(use.split(":")[1]))
        typed = await bot.services.store.find_character("Alicee", guild_id=world.guild.id)
    assert (
        refused.ephemeral and refused.content == "Only the member who submitted this picture can choose its character."
    )
    assert typed is not None and reference.character_id == typed.id


async def test_the_buttons_survive_a_restart(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        reply = await submit(world, "Alicee", seed=55)
        message = asked(world)
    async with running_bot(bot_settings, world.emu) as restarted:
        pressed = await (await world.member.press(message, button(reply, "Use Alice"))).answer()
        reference = await restarted.services.store.get_reference(int(button(reply, "Use Alice").split(":")[1]))
        alice = await alice_id(restarted)
    assert pressed.content.startswith("Filed under **Alice** instead: submission #")
    assert reference.character_id == alice


async def test_forged_stale_and_reviewed_buttons_are_answered_privately(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        reply = await submit(world, "Alicee", seed=56)
        message = asked(world)
        use = button(reply, "Use Alice")
        reference_id = int(use.split(":")[1])
        forged = [
            "refile:garbage",
            f"refile:{reference_id}",
            f"refile:{reference_id}:{'9' * 19}",  # beyond BIGINT
            f"refile:{'9' * 19}:0",
            f"refile:0{reference_id}:0",  # a leading zero is not how the bot writes ids
            f"refile:{reference_id + 1000}:0",  # no such submission
            f"refile:{reference_id}:999999",  # no such character
        ]
        buttons = [{"type": 2, "style": 2, "label": "Use", "custom_id": custom_id} for custom_id in forged]
        # Discord only sends ids of buttons on the message: put the forged ones on the bot's acknowledgement
        world.emu.messages[int(message["id"])]["components"] = [
            {"type": 1, "components": buttons[:5]},
            {"type": 1, "components": [*buttons[5:], {"type": 2, "style": 1, "label": "Use", "custom_id": use}]},
        ]
        replies = [await (await world.member.press(message, custom_id)).answer() for custom_id in forged]
        await open_review(world)
        card = asked(world)
        approve = next(cid for cid in world.emu.messages[int(card["id"])]["components"][0]["components"]
                       if cid["label"] == "Approve")["custom_id"]  # fmt: skip
        await (await world.owner.press(card, approve)).answer()
        reviewed = await (await world.member.press(message, use)).answer()
        reference = await bot.services.store.get_reference(reference_id)
        typed = await bot.services.store.find_character("Alicee", guild_id=world.guild.id)
    assert all(r.ephemeral and r.content == STALE for r in replies), [r.content for r in replies]
    assert reviewed.ephemeral
    assert reviewed.content == f"Submission #{reference_id} was already approved; it stays filed as it is."
    assert reference.status.value == "approved" and reference.character_id == typed.id
