"""Whynot end to end: autocomplete over names and aliases, then evidence for and against with both values."""

from __future__ import annotations

from bot.config import Settings
from tests.cogs.conftest import World, enroll_cast, running_bot
from tests.drawing import BLONDE


async def test_autocomplete_matches_names_and_aliases_in_any_script(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        typed = await world.member.autocomplete("whynot", focused="character", character="bea")
        alias = await world.member.autocomplete("whynot", focused="character", character="ピア")
        empty = await world.member.autocomplete("whynot", focused="character", character="")
        first, by_alias, everything = await typed.answer(), await alias.answer(), await empty.answer()
    assert first.callback_type == 8
    assert first.data["choices"][0] == {"name": "Bea", "value": "Bea"}
    assert by_alias.data["choices"][0] == {"name": "ピア (Pia)", "value": "Pia"}
    assert [c["value"] for c in everything.data["choices"]] == ["Alice", "Bea", "Pia"]


async def test_whynot_explains_rank_best_match_and_evidence(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash("whynot", character="Bea", image=world.picture(BLONDE, seed=21))
        reply = await handle.final()
    embed = reply.embeds[0]
    assert embed["title"] == "Why (not) Bea?"
    assert "**Bea** ranks #" in embed["description"]
    assert "The best match is **Alice**" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert set(fields) == {"For Bea", "Against Bea"}
    assert " picture " in fields["Against Bea"] and " Bea " in fields["Against Bea"]
    # the evidence contrasts Bea with the best match, and each line gives Alice's value too
    assert "compares **Bea** with **Alice**" in embed["description"]
    assert all(" Alice " in line for line in fields["Against Bea"].splitlines())


async def test_whynot_unknown_name_suggests_close_names_privately(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash("whynot", character="Alise", image=world.picture(BLONDE, seed=22))
        reply = await handle.until(lambda r: "Could not find" in r.content)
    assert reply.ephemeral
    assert "Did you mean 'Alice'?" in reply.content
    deleted = world.emu.requests_to("DELETE", f"/webhooks/{world.emu.application_id}/{handle.token}/messages/@original")
    assert deleted, "the public 'thinking' placeholder is removed before the private error"


async def test_whynot_on_someone_elses_picture_via_the_message_menu(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        message = world.emu.add_message(world.member.channel, world.other.user, attachments=[world.picture(BLONDE, 23)])
        opened = await (await world.member.message_command("Why (not) this character?", message)).answer()
        handle = await world.member.submit_modal(opened.data, {"Character name or alias": "ピア"})
        reply = await handle.until(lambda r: bool(r.embeds))
    assert opened.callback_type == 9
    assert reply.embeds[0]["title"] == "Why (not) Pia?"
    assert "The best match is **Alice**" in reply.embeds[0]["description"]


async def test_a_typed_name_in_an_error_is_shown_literally(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        handle = await world.member.slash(
            "whynot", character="**bold** @everyone", image=world.picture(BLONDE, seed=24)
        )
        reply = await handle.until(lambda r: "Could not find" in r.content)
    assert reply.ephemeral
    assert reply.content.startswith("Could not find a character named '\\*\\*bold\\*\\* @\u200beveryone'.")
    assert reply.data["allowed_mentions"] == {"parse": []}
