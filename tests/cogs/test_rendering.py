"""Rendering and error mapping, without Discord: what users read, derived from the result values."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest
from discord import app_commands

from bot.discord_errors import user_message
from bot.errors import Busy, UnknownCharacter
from bot.services.results import IdentifyResult, Match, RegionResult
from bot.store.records import CharacterRecord
from cogs.common import rank_names
from cogs.rendering import identify_embed, thumbnail_allowed


class Channel:
    def __init__(self, nsfw: bool) -> None:
        self.nsfw = nsfw

    def is_nsfw(self) -> bool:
        return self.nsfw


@pytest.mark.parametrize(
    ("rating", "nsfw", "allowed"),
    [
        (None, False, True),
        ("general", False, True),
        ("sensitive", False, True),
        ("questionable", False, False),
        ("explicit", False, False),
        ("questionable", True, True),
        ("explicit", True, True),
    ],
)
def test_adult_reference_thumbnails_only_in_age_restricted_channels(rating: str | None, nsfw: bool, allowed: bool):
    assert thumbnail_allowed(rating, Channel(nsfw)) is allowed
    assert thumbnail_allowed(rating, object()) is (rating not in {"questionable", "explicit"})


def test_names_are_escaped_and_cannot_mention() -> None:
    match = Match(character_id=1, character="**@everyone** _x_", series="S|e", distance=0.1, confidence=0.876)
    result = IdentifyResult(regions=(RegionResult(box=None, matches=(match,), unknown=False),))
    embed = identify_embed(result)
    assert embed.title == "This looks like \\*\\*@\u200beveryone\\*\\* \\_x\\_"
    assert embed.fields[0].value == "1. **\\*\\*@\u200beveryone\\*\\* \\_x\\_** — *S\\|e* · 88%"


def test_several_faces_each_get_a_field() -> None:
    first = Match(character_id=1, character="Alice", series=None, distance=0.1, confidence=0.9)
    regions = (
        RegionResult(box=(0, 0, 10, 10), matches=(first,), unknown=False),
        RegionResult(box=(20, 5, 30, 15), matches=(), unknown=True),
    )
    embed = identify_embed(IdentifyResult(regions=regions, notes=("animated image: used the first of 3 frames",)))
    assert [f.name for f in embed.fields] == ["Face 1 at 0,0", "Face 2 at 20,5"]
    assert embed.fields[1].value == "Nobody I know."
    assert embed.footer.text == "animated image: used the first of 3 frames"


@app_commands.command(name="dummy", description="A command to wrap errors in")
async def dummy(interaction: discord.Interaction) -> None:
    return None


def test_error_messages_for_checks_and_domain_errors() -> None:
    cooldown = app_commands.CommandOnCooldown(app_commands.Cooldown(6, 60.0), retry_after=12.4)
    assert user_message(cooldown) == "Slow down: try this again in 12 s."
    wrapped = app_commands.CommandInvokeError(dummy, Busy())
    assert user_message(wrapped) == Busy().user_message
    assert (
        user_message(UnknownCharacter("Alise", ["Alice"]))
        == "Could not find a character named 'Alise'. Did you mean 'Alice'?"
    )
    assert user_message(app_commands.MissingPermissions(["manage_guild"])) == (
        "You need the manage server permission to do that."
    )
    assert user_message(RuntimeError("bug")) is None


def test_autocomplete_ranks_names_and_aliases() -> None:
    now = datetime.now(UTC)
    characters = [
        CharacterRecord(1, "Nakano Miku", "Gotoubun", ("中野三玖", "Miku"), None, now),
        CharacterRecord(2, "Nakano Nino", "Gotoubun", ("中野二乃",), None, now),
        CharacterRecord(3, "Lisa Simpson", "The Simpsons", (), None, now),
    ]
    assert rank_names("三玖", characters)[0] == ("中野三玖 (Nakano Miku)", "Nakano Miku")
    assert rank_names("lisa", characters)[0] == ("Lisa Simpson", "Lisa Simpson")
    assert [name for _, name in rank_names("", characters)] == ["Lisa Simpson", "Nakano Miku", "Nakano Nino"]
    assert all(name != "Lisa Simpson" for _, name in rank_names("nakano", characters))
