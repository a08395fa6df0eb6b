"""Community enrollment end to end: submit, review with buttons, approve/reject, refusals, and a restart."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.discord_emulator import InteractionHandle, Reply
from tests.drawing import BLONDE, GREEN_HAIR


async def submit(world: World, name: str, seed: int, *, series: str | None = None) -> Reply:
    """A member submits a picture of GREEN_HAIR as `name`; returns the private acknowledgement."""
    options = {"character": name, "image": world.picture(GREEN_HAIR, seed=seed)}
    if series:
        options["series"] = series
    handle = await world.member.slash("enroll", **options)
    return await handle.until(lambda r: bool(r.content))


async def direct_messages(world: World, count: int) -> list[dict]:
    """The bodies of the first `count` messages the bot posted to channels (DMs here), waiting for them."""
    async with asyncio.timeout(10):
        while len(sent := [r.json for r in world.emu.requests_to("POST", "/channels/") if r.json]) < count:
            world.emu.recorded.clear()
            await world.emu.recorded.wait()
    return sent


async def open_review(world: World) -> tuple[InteractionHandle, Reply]:
    """The server owner runs /review; returns the handle and the card."""
    handle = await world.owner.slash("review")
    return handle, await handle.until(lambda r: bool(r.embeds) or "No pending" in r.content)


async def test_submit_review_approve_then_identify_finds_the_character(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        before = await (await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=50))).final()
        assert before.embeds[0]["title"] == "Unknown character"
        acknowledgements = [await submit(world, "Midori", seed, series="Forest") for seed in (51, 52, 53)]
        assert all(a.ephemeral for a in acknowledgements)
        assert "Your picture of **Midori** (a new character) is submission #" in acknowledgements[0].content
        still_unknown = await (await world.member.slash("identify", image=world.picture(GREEN_HAIR, 54))).final()
        assert still_unknown.embeds[0]["title"] == "Unknown character"  # pending ones do not count

        _, card = await open_review(world)
        assert card.ephemeral
        assert card.embeds[0]["title"].endswith(": Midori")
        assert card.embeds[0]["image"]["url"].startswith("attachment://submission.")
        assert card.embeds[0]["footer"]["text"] == "3 pending in this server"
        message = world.emu.messages[max(world.emu.messages)]
        for _ in range(3):
            approve = next(c for c in world.emu.messages[int(message["id"])]["components"][0]["components"]
                           if c["label"] == "Approve")  # fmt: skip
            pressed = await world.owner.press(message, approve["custom_id"])
            update = await pressed.answer()
            assert update.callback_type == 7
            assert update.content.startswith("Approved #")
        assert "No more pending submissions." in update.content

        after = await (await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=55))).final()
        dms = await direct_messages(world, 3)
    assert after.embeds[0]["title"] == "This looks like Midori"
    assert all(" was approved. Thank you!" in dm["content"] for dm in dms), "the submitter is told about each approval"


async def test_reject_keeps_the_picture_out_of_the_gallery(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await submit(world, "Alice", seed=60)
        _, card = await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
        reject = next(cid for cid in card.custom_ids() if ":reject:" in cid)
        update = await (await world.owner.press(message, reject)).answer()
        reference_id = int(reject.rsplit(":", 1)[1])
        reference = await bot.services.store.get_reference(reference_id)
    assert update.content.startswith(f"Rejected #{reference_id}") and "No more pending" in update.content
    assert reference.status.value == "rejected"
    assert bot.services.gallery.reference_count(reference.character_id) == 5


async def test_non_moderator_pressing_approve_is_refused(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await submit(world, "Midori", seed=70)
        review_by_member = await (await world.member.slash("review")).answer()
        _, card = await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
        approve = next(cid for cid in card.custom_ids() if ":approve:" in cid)
        refused = await (await world.other.press(message, approve)).answer()
        reference = await bot.services.store.get_reference(int(approve.rsplit(":", 1)[1]))
    assert review_by_member.ephemeral and "Only moderators" in review_by_member.content
    assert refused.ephemeral and "Only moderators can do that" in refused.content
    assert reference.status.value == "pending"


async def test_moderator_role_set_with_settings_can_review(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        await submit(world, "Midori", seed=75)
        denied = await (await world.moderator.slash("review")).answer()
        handle = await world.owner.slash("settings", "modrole", role=world.guild.roles[1])
        confirmation = await handle.answer()
        allowed = await (await world.moderator.slash("review")).until(lambda r: bool(r.embeds))
    assert "Only moderators" in denied.content
    assert confirmation.content.startswith("Moderators are now members with <@&")
    assert allowed.embeds[0]["title"].endswith(": Midori")


async def test_duplicate_submission_is_refused_with_the_reason(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        same_picture = world.picture(BLONDE, seed=100)  # exactly one of Alice's references
        handle = await world.member.slash("enroll", character="Alice", image=same_picture)
        reply = await handle.until(lambda r: bool(r.content))
    assert reply.ephemeral
    assert "near-duplicate of reference #" in reply.content and "of Alice" in reply.content


async def test_context_menu_submission_asks_for_the_name_in_a_modal(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        message = world.emu.add_message(
            world.member.channel, world.other.user, attachments=[world.picture(GREEN_HAIR, seed=80)]
        )
        opened = await (await world.member.message_command("Submit as character reference", message)).answer()
        assert opened.callback_type == 9
        handle = await world.member.submit_modal(opened.data, {"Character name": "Midori", "Series (optional)": ""})
        reply = await handle.until(lambda r: bool(r.content))
        pending = await bot.services.store.next_pending(guild_id=world.guild.id)
    assert reply.ephemeral and "Your picture of **Midori**" in reply.content
    assert pending is not None and pending.source.endswith(f"/{message['channel_id']}/{message['id']}")


async def test_pending_submissions_and_review_buttons_survive_a_restart(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        await submit(world, "Midori", seed=90)
        await submit(world, "Midori", seed=91)
        _, card = await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
    approve = next(cid for cid in card.custom_ids() if ":approve:" in cid)
    async with running_bot(bot_settings, world.emu) as restarted:
        update = await (await world.owner.press(message, approve)).answer()
        skip = next(cid for cid in update.custom_ids() if ":skip:" in cid)
        skipped = await (await world.owner.press(message, skip)).answer()
        midori = await restarted.services.store.find_character("Midori", guild_id=world.guild.id)
    assert update.content.startswith("Approved #") and update.embeds[0]["footer"]["text"] == "1 pending in this server"
    assert skipped.content.startswith("Skipped #")
    assert restarted.services.gallery.reference_count(midori.id) == 1


async def test_submissions_are_rate_limited_per_user(world: World, bot_settings: Settings) -> None:
    bot_settings.enrollment.submissions_per_hour = 2
    async with running_bot(bot_settings, world.emu):
        first, second, third = [await submit(world, "Midori", seed) for seed in (95, 96, 97)]
        other_user = await (
            await world.other.slash("enroll", character="Midori", image=world.picture(GREEN_HAIR, seed=98))
        ).until(lambda r: bool(r.content))
    assert "submission #" in first.content and "submission #" in second.content
    assert third.ephemeral and third.content.startswith("You are submitting too quickly; try again in ")
    assert "submission #" in other_user.content


async def test_a_name_full_of_markdown_and_mentions_is_shown_literally_everywhere(
    world: World, bot_settings: Settings
) -> None:
    name = "**bold** @everyone"
    escaped = "\\*\\*bold\\*\\* @\u200beveryone"
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        acknowledgement = await submit(world, name, seed=85)
        _, card = await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
        approve = next(cid for cid in card.custom_ids() if ":approve:" in cid)
        approved = await (await world.owner.press(message, approve)).answer()
        identified = await (await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=86))).final()
        (dm,) = await direct_messages(world, 1)
    assert f"Your picture of **{escaped}** (a new character)" in acknowledgement.content
    assert card.embeds[0]["title"].endswith(f": {escaped}")
    assert approved.content.startswith(f"Approved #{approve.rsplit(':', 1)[1]}: **{escaped}** is now recognised")
    assert identified.embeds[0]["title"] == f"This looks like {escaped}"
    assert escaped in dm["content"] and dm["allowed_mentions"] == {"parse": []}
    for reply in (acknowledgement, card, approved, identified):
        assert "@everyone" not in reply.text()


async def test_rejection_is_told_to_the_submitter(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        await submit(world, "Midori", seed=87)
        _, card = await open_review(world)
        message = world.emu.messages[max(world.emu.messages)]
        reject = next(cid for cid in card.custom_ids() if ":reject:" in cid)
        await (await world.owner.press(message, reject)).answer()
        sent = [body["content"] for body in await direct_messages(world, 1)]
    assert sent == [f"Your picture of **Midori** (submission #{reject.rsplit(':', 1)[1]}) was not accepted."]


async def test_enroll_autocomplete_offers_known_names_and_the_typed_new_one(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        typed = await (await world.member.autocomplete("enroll", focused="character", character="Alic")).answer()
        exact = await (await world.member.autocomplete("enroll", focused="character", character="alice")).answer()
    assert typed.data["choices"] == [
        {"name": "Alice", "value": "Alice"},
        {"name": "Alic (new character)", "value": "Alic"},
    ]
    assert exact.data["choices"] == [{"name": "Alice", "value": "Alice"}]


async def test_a_modal_submission_that_fails_is_answered_privately(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        message = world.emu.add_message(
            world.member.channel, world.other.user, attachments=[world.picture(GREEN_HAIR, seed=88)]
        )
        opened = await (await world.member.message_command("Submit as character reference", message)).answer()
        handle = await world.member.submit_modal(opened.data, {"Character name": "   ", "Series (optional)": ""})
        reply = await handle.until(lambda r: bool(r.content))
        pending = await bot.services.store.next_pending(guild_id=world.guild.id)
    assert reply.ephemeral and reply.content == "A character name or alias cannot be empty."
    assert pending is None
