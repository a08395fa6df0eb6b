"""Rendering and error mapping, without Discord: what users read, derived from the result values."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import numpy as np
from discord import app_commands

from bot.discord_adapter.replies import user_message, written_for_discord
from bot.errors import Busy, PermissionDenied, UnknownCharacter
from bot.services.results import Evidence, IdentifyResult, Match, RegionResult, WhyNotResult
from bot.services.review import Submission
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from cogs.rendering import identify_embed, review_embed, whynot_embed


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
    assert embed.title == "This looks like Alice" and "`/enroll character:<name> image:<picture>`" in embed.description
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


def test_core_messages_are_literal_text_and_discord_ones_keep_their_markdown() -> None:
    core = UnknownCharacter("*Mi_ku* @here", ["Miku"])
    written = written_for_discord(PermissionDenied("Use `/settings modrole` first."))
    assert user_message(core) == "Could not find a character named '\\*Mi\\_ku\\* @\u200bhere'. Did you mean 'Miku'?"
    assert user_message(written) == "Use `/settings modrole` first."


def test_a_tagger_only_match_is_marked_and_offers_enrollment() -> None:
    named = Match(None, "Hatsune Miku", "Vocaloid", distance=0.1, confidence=0.9, source="model")
    enrolled = Match(4, "Alice", None, distance=0.5, confidence=0.5)
    result = IdentifyResult(regions=(RegionResult(box=None, matches=(named, enrolled), unknown=False),))
    embed = identify_embed(result)
    assert embed.title == "This looks like Hatsune Miku"
    assert "`/enroll character:Hatsune Miku image:<picture>`" in embed.description
    assert embed.fields[0].value.splitlines() == [
        "1. **Hatsune Miku** — *Vocaloid* · 90% · named by the tagger",
        "2. **Alice** · 50%",
    ]
    assert embed.thumbnail.url is None


def whynot_result(measure: str, rank: int) -> WhyNotResult:
    evidence = (Evidence("blue_hair", 0.9, 0.1, -0.8), Evidence("smile", 0.7, 0.6, 0.1))
    return WhyNotResult(
        character="Bea", character_id=2, rank=rank, candidates=3, distance=0.4321, confidence=0.4,
        best_match="Alice", best_distance=0.1234, evidence=evidence, measure=measure, tag_distance=0.55,
    )  # fmt: skip


def test_whynot_names_the_measure_and_shows_both_values_of_each_tag() -> None:
    by_tags = whynot_embed(whynot_result("tags", 2))
    by_ccip = whynot_embed(whynot_result("embedding", 2))
    assert by_tags.description == (
        "**Bea** ranks #2 of 3 (distance 0.432, 40%). The best match is **Alice** (distance 0.123)."
    )
    assert by_ccip.description.splitlines() == [
        "**Bea** ranks #2 of 3 (CCIP difference 0.432, 40%). The best match is **Alice** (CCIP difference 0.123).",
        "The tags below explain the tag distance of **Bea**, 0.550.",
    ]
    fields = {field.name: field.value for field in by_tags.fields}
    assert fields == {
        "For Bea": r"`smile` picture 0.70 · Bea 0.60 (+0.10)",
        "Against Bea": r"`blue\_hair` picture 0.90 · Bea 0.10 (-0.80)",
    }
    assert "is the best match here (CCIP difference 0.432" in whynot_embed(whynot_result("embedding", 1)).description


def test_an_adult_submission_is_described_not_embedded_outside_age_restricted_channels() -> None:
    now = datetime.now(UTC)
    character = CharacterRecord(3, "**bold** @everyone", None, (), 7, now)
    reference = ReferenceRecord(
        id=12, character_id=3, status=ReferenceStatus.PENDING, guild_id=7, tagger="t@1",
        tag_vector=np.zeros(2, np.float32), embedder=None, embedding=None, phash="0", image_path="ab/x.png",
        rating="explicit", submitted_by=5, submitted_at=now, reviewed_by=None, reviewed_at=None, source=None,
    )  # fmt: skip
    submission = Submission(reference, character, b"png", "png", pending=1)
    hidden = review_embed(submission, "SPOILER_submission.png", hidden_rating=True)
    shown = review_embed(submission, "submission.png", hidden_rating=False)
    assert hidden.title == "Submission #12: \\*\\*bold\\*\\* @\u200beveryone"
    assert hidden.image.url is None and "behind a spoiler" in {f.name: f.value for f in hidden.fields}["Rating"]
    assert shown.image.url == "attachment://submission.png"
