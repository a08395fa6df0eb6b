"""With a tagger that rates pictures and names characters: adult thumbnails stay out of ordinary channels,
submissions are shown to moderators behind a spoiler there, and a character only the tagger knows is shown as such.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.config import Settings
from tests.bot.fake_models import rating_tags, write_wd_tagger
from tests.cogs.conftest import World, running_bot
from tests.drawing import encode

TAGS = [*rating_tags(), ("red_hair", 0), ("green_hair", 0), ("hatsune_miku", 4)]
RED, GREEN = 0, 1


def tagger_weights() -> np.ndarray:
    """Red pictures are rated explicit; green ones are general and named hatsune_miku by the tagger."""
    names = [name for name, _ in TAGS]
    weights = np.zeros((3, len(TAGS)), dtype=np.float32)  # rows: mean blue, green, red of the 0..255 input
    for row, column, probability in ((2, "explicit", 1.0), (2, "red_hair", 1.0)):
        weights[row, names.index(column)] = probability / 255
    for row, column, probability in ((1, "general", 1.0), (1, "green_hair", 1.0), (1, "hatsune_miku", 1.0)):
        weights[row, names.index(column)] = probability / 255
    return weights


def blocks(colour: int, seed: int) -> bytes:
    """A picture in one hue with a random block pattern, so each seed is a different picture (not a duplicate)."""
    pattern = np.random.default_rng(seed).integers(0, 2, size=(8, 8)).astype(bool)
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[..., colour] = np.where(np.kron(pattern, np.ones((8, 8), dtype=bool)), 255, 200)
    return encode(Image.fromarray(pixels, "RGB"))


@pytest.fixture
def rating_settings(bot_settings: Settings, tmp_path: Path) -> Settings:
    bot_settings.tagger = str(write_wd_tagger(tmp_path / "wd-rating", TAGS, tagger_weights()))
    return bot_settings


async def test_an_explicit_reference_is_a_thumbnail_only_in_the_age_restricted_channel(
    world: World, rating_settings: Settings
) -> None:
    async with running_bot(rating_settings, world.emu) as bot:
        for seed in (1, 2, 3):
            await bot.services.enrollment.enroll_approved("Scarlet", blocks(RED, seed))
        stored = await bot.services.store.list_references()
        general = await (
            await world.member.slash("identify", image=world.emu.add_attachment(blocks(RED, 4), "a.png"))
        ).final()
        nsfw = await (
            await world.member.in_channel("nsfw").slash(
                "identify", image=world.emu.add_attachment(blocks(RED, 5), "b.png")
            )
        ).final()
    assert {reference.rating for reference in stored} == {"explicit"}
    assert general.embeds[0]["title"] == nsfw.embeds[0]["title"] == "This looks like Scarlet"
    assert "thumbnail" not in general.embeds[0] and not general.files
    assert nsfw.embeds[0]["thumbnail"]["url"] == "attachment://reference0.png"
    assert [name for name in nsfw.files if name.startswith("reference")] == ["reference0.png"]
    assert "query.png" in nsfw.files, "the picture itself (for Not right?) only where its rating may be shown"


async def test_an_explicit_submission_reaches_moderators_behind_a_spoiler(
    world: World, rating_settings: Settings
) -> None:
    async with running_bot(rating_settings, world.emu):
        handle = await world.member.slash("enroll", character="Scarlet", image=world.emu.add_attachment(blocks(RED, 6)))
        await handle.until(lambda r: bool(r.content))
        in_general = await (await world.owner.slash("review")).until(lambda r: bool(r.embeds))
        in_nsfw = await (await world.owner.in_channel("nsfw").slash("review")).until(lambda r: bool(r.embeds))
    assert list(in_general.files) == ["SPOILER_submission.png"] and "image" not in in_general.embeds[0]
    rating = next(f["value"] for f in in_general.embeds[0]["fields"] if f["name"] == "Rating")
    assert rating.startswith("explicit") and "spoiler" in rating
    assert list(in_nsfw.files) == ["submission.png"]
    assert in_nsfw.embeds[0]["image"]["url"] == "attachment://submission.png"


async def test_a_character_only_the_tagger_knows_is_marked_without_a_thumbnail(
    world: World, rating_settings: Settings
) -> None:
    async with running_bot(rating_settings, world.emu) as bot:
        for seed in (1, 2, 3):
            await bot.services.enrollment.enroll_approved("Scarlet", blocks(RED, seed))
        handle = await world.member.in_channel("nsfw").slash(
            "identify", image=world.emu.add_attachment(blocks(GREEN, 7), "green.png")
        )
        reply = await handle.final()
    embed = reply.embeds[0]
    assert embed["title"] == "This looks like Hatsune Miku"
    assert embed["fields"][0]["value"].startswith("1. **Hatsune Miku** · ")
    assert embed["fields"][0]["value"].splitlines()[0].endswith("· named by the tagger")
    assert "`/enroll character:Hatsune Miku image:<picture>`" in embed["description"]
    assert "thumbnail" not in embed and not any(name.startswith("reference") for name in reply.files)


def pure_red_pixels(card: bytes) -> int:
    """Pixels of the red test pictures' own colours in a card (its chips and text use none of them)."""
    pixels = np.asarray(Image.open(io.BytesIO(card)).convert("RGB")).reshape(-1, 3)
    return int(np.count_nonzero((pixels[:, 1] == 0) & (pixels[:, 2] == 0) & (pixels[:, 0] >= 200)))


async def test_the_whynot_card_reposts_an_explicit_picture_only_in_the_age_restricted_channel(
    world: World, rating_settings: Settings
) -> None:
    async with running_bot(rating_settings, world.emu) as bot:
        for seed in (1, 2, 3):
            await bot.services.enrollment.enroll_approved("Scarlet", blocks(RED, seed))
        for seed in (6, 7, 8):
            await bot.services.enrollment.enroll_approved("Midori", blocks(GREEN, seed))
        general = await (
            await world.member.slash(
                "whynot", character="Midori", image=world.emu.add_attachment(blocks(RED, 4), "a.png")
            )
        ).final()
        nsfw = await (
            await world.member.in_channel("nsfw").slash(
                "whynot", character="Midori", image=world.emu.add_attachment(blocks(RED, 5), "b.png")
            )
        ).final()
    assert pure_red_pixels(general.files["whynot.png"]) == 0  # neither the picture nor Scarlet's reference
    assert pure_red_pixels(nsfw.files["whynot.png"]) > 1000
