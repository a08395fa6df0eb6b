"""Settings (auto-identify channels) and the moderators' /character tools, end to end."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from tests.cogs.conftest import World, enroll_approved, enroll_cast, running_bot
from tests.drawing import BLONDE, GREEN_HAIR, draw_character, encode


async def test_autoidentify_replies_in_enabled_channels_only(world: World, bot_settings: Settings) -> None:
    general = world.guild.channels[0]
    async with running_bot(bot_settings, world.emu, auto_identify=True) as bot:
        await enroll_cast(bot)
        toggled = await (await world.owner.slash("settings", "autoidentify", channel=general, enabled=True)).answer()
        posted = await world.member.post("who is this?", attachments=[world.picture(BLONDE, seed=31)])
        async with asyncio.timeout(10):
            while not world.emu.requests_to("POST", f"/channels/{general['id']}/messages"):
                await world.emu.recorded.wait()
                world.emu.recorded.clear()
        await world.member.in_channel("nsfw").post("", attachments=[world.picture(BLONDE, 32, filename="off.png")])
        await world.member.post("", attachments=[world.picture(GREEN_HAIR, seed=33, filename="unknown.png")])
        async with asyncio.timeout(10):
            while "unknown.png" not in world.emu.downloads:
                world.emu.downloaded.clear()
                await world.emu.downloaded.wait()
        await asyncio.sleep(0.3)  # time to answer, were it going to
    assert "off.png" not in world.emu.downloads
    assert "Auto-identify is now on in <#" in toggled.content
    assert world.emu.identifies[-1]["intents"] & (1 << 15)  # message content was asked for
    replies = world.emu.requests_to("POST", "/channels/")
    assert len(replies) == 1
    body = replies[0].json
    assert body["message_reference"]["message_id"] == int(posted["id"])
    assert body["embeds"][0]["title"] == "This looks like Alice"
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}


async def test_settings_need_manage_server(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        refused = await (await world.member.slash("settings", "modrole", role=world.guild.roles[1])).answer()
    assert refused.ephemeral and refused.content == "You need the manage server permission to do that."
    synced = {c["name"]: c for c in world.emu.commands[None]}
    assert int(synced["settings"]["default_member_permissions"]) == 1 << 5


async def test_character_tools_rename_alias_info_remove_and_audit(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_approved(bot, "Midori", GREEN_HAIR, range(40, 43), guild_id=world.guild.id)
        await enroll_cast(bot)
        renamed = await (
            await world.owner.slash("character", "rename", character="Midori", new_name="Midori *Green*")
        ).answer()
        aliased = await (
            await world.owner.slash("character", "alias", character="Midori *Green*", alias="ミドリ")
        ).answer()
        info = await (await world.owner.slash("character", "info", character="ミドリ")).answer()
        identified = await (await world.member.slash("identify", image=world.picture(GREEN_HAIR, seed=44))).final()
        global_refused = await (await world.owner.slash("character", "remove", character="Alice")).answer()
        member_refused = await (await world.member.slash("character", "info", character="Alice")).answer()
        removed = await (await world.owner.slash("character", "remove", character="ミドリ")).answer()
        audit = await bot.services.store.audit_log(guild_id=world.guild.id)
        gone = await bot.services.store.find_character("Midori *Green*", guild_id=world.guild.id)
    assert renamed.content == r"Renamed **Midori** to **Midori \*Green\***."
    assert aliased.content == r"**Midori \*Green\*** now has the alias **ミドリ**."
    fields = {f["name"]: f["value"] for f in info.embeds[0]["fields"]}
    assert fields["Aliases"] == "ミドリ" and fields["Scope"] == "this server" and fields["References"].startswith("3 ")
    assert identified.embeds[0]["title"] == r"This looks like Midori \*Green\*"
    assert "global character; only the bot's owner" in global_refused.content and global_refused.ephemeral
    assert "Only moderators" in member_refused.content
    assert removed.content.startswith(r"Removed **Midori \*Green\***")
    assert gone is None
    by_owner = {entry.action for entry in audit if entry.actor_id == int(world.owner.user["id"])}
    assert {"character.rename", "character.remove"} <= by_owner
    assert any(action.startswith("character.alias") for action in by_owner), by_owner


async def test_only_the_bot_owner_promotes_a_server_character_to_global(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_approved(bot, "Midori", GREEN_HAIR, range(40, 43), guild_id=world.guild.id)
        refused = await (await world.owner.slash("promote", character="Midori")).answer()
        promoted = await (await world.developer.slash("promote", character="Midori")).answer()
        record = await bot.services.store.find_character("Midori")
        seen_elsewhere = await bot.services.identify.identify(
            encode(draw_character(GREEN_HAIR, seed=45)), guild_id=world.guild.id + 1
        )
    assert "Only the bot's owner" in refused.content and refused.ephemeral
    assert promoted.content == "**Midori** is now global, with 3 references."
    assert record is not None and record.guild_id is None
    assert seen_elsewhere.regions[0].matches[0].character == "Midori"


async def test_autoidentify_leaves_a_flood_of_pictures_from_one_person_alone(
    world: World, bot_settings: Settings
) -> None:
    bot_settings.discord.identify_per_minute = rate = 3
    async with running_bot(bot_settings, world.emu, auto_identify=True):
        await (
            await world.owner.slash("settings", "autoidentify", channel=world.guild.channels[0], enabled=True)
        ).answer()
        for index in range(rate + 2):
            await world.member.post("", attachments=[world.picture(GREEN_HAIR, 60 + index, filename=f"{index}.png")])
        await world.other.post("", attachments=[world.picture(GREEN_HAIR, 70, filename="other.png")])
        async with asyncio.timeout(10):
            while "other.png" not in world.emu.downloads or len(world.emu.downloads) < rate + 1:
                world.emu.downloaded.clear()
                await world.emu.downloaded.wait()
        await asyncio.sleep(0.3)  # time to download the rest, were it going to
    assert sorted(world.emu.downloads) == sorted([f"{index}.png" for index in range(rate)] + ["other.png"])


async def test_the_owner_promotes_a_servers_references_of_a_global_character(
    world: World, bot_settings: Settings
) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await enroll_approved(bot, "Alice", BLONDE, range(110, 112), guild_id=world.guild.id)
        promoted = await (await world.developer.slash("promote", character="Alice")).answer()
        again = await (await world.developer.slash("promote", character="Alice")).answer()
        references = await bot.services.store.list_references(all_scopes=True)
    assert promoted.ephemeral and promoted.content == "**Alice** is now global, with 7 references."
    assert again.ephemeral and again.content == "Alice is already global and has no guild references to promote."
    assert all(reference.guild_id is None for reference in references)
