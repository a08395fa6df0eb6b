"""/similar and /tags end to end: answers within Discord's limits, mentions disabled, the gallery image a PNG.

/similar shows only the references the guild may see (global and its own, never another guild's), and a
reference's picture only where the channel may show its rating. /tags lists what the project's tag service
reads from the picture: the palette's colours per region offline, rating/character/general with a WD tagger.
"""

from __future__ import annotations

import io

from PIL import Image

from bot.config import Settings
from bot.recognition.analysis import InferenceJob
from bot.recognition.nearest import reference_search
from bot.services.cards import MARGIN
from cogs.tags import scores_text
from tests.cogs.conftest import World, enroll_approved, enroll_cast, running_bot
from tests.cogs.test_ratings_and_tagger import GREEN, RED, blocks, rating_settings  # noqa: F401 (fixture)
from tests.discord_emulator.limits import EMBED_TOTAL, UPLOAD_LIMIT
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR, draw_character, encode

OTHER_GUILD = 4242


def gallery_png(files: dict[str, bytes]) -> Image.Image:
    """The attached gallery, checked to be a PNG by its bytes and within the upload limit."""
    data = files["similar.png"]
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and 0 < len(data) <= UPLOAD_LIMIT
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


def numbered(description: str) -> list[str]:
    """The character named on each numbered line of a /similar answer."""
    return [line.split("**")[1] for line in description.splitlines() if line[:1].isdigit()]


def embed_size(embed: dict) -> int:
    fields = embed.get("fields") or []
    texts = [embed.get("title"), embed.get("description"), (embed.get("footer") or {}).get("text")]
    return sum(len(t or "") for t in texts) + sum(len(f["name"]) + len(f["value"]) for f in fields)


async def test_similar_shows_the_nearest_references_this_guild_may_see(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu) as bot:
        await enroll_cast(bot)
        await enroll_approved(bot, "Midori", GREEN_HAIR, range(400, 403), guild_id=world.guild.id)
        await enroll_approved(bot, "Elsewhere", GREEN_HAIR, range(410, 413), guild_id=OTHER_GUILD)
        query = encode(draw_character(BLUE_HAIR, seed=250))
        blue = await (await world.member.slash("similar", image=world.emu.add_attachment(query, "b.png"))).final()
        analysis = await bot.services.analyzer.analyze(InferenceJob(image=query, detect_faces=False))
        search = reference_search(bot.services.gallery, analysis.whole.tag_probs, guild_id=world.guild.id)
        expected = [near.character.name for near in search.nearest(8)]
        green = await (await world.member.slash("similar", image=world.picture(GREEN_HAIR, 450), count=3)).final()
    embed = blue.embeds[0]
    names = numbered(embed["description"])
    assert names == expected and names[0] == "Bea" and names.count("Bea") >= 4
    assert "of 18 this server can see" in embed["description"], "15 global + 3 of this guild, not the other's 3"
    assert embed["image"]["url"] == "attachment://similar.png"
    assert gallery_png(blue.files).size[0] >= 4 * 160, "a grid of four thumbnails a row"
    assert numbered(green.embeds[0]["description"]) == ["Midori"] * 3
    assert "Elsewhere" not in blue.text() + green.text()
    for reply in (blue, green):
        assert reply.data["allowed_mentions"] == {"parse": []}
        assert embed_size(reply.embeds[0]) <= EMBED_TOTAL


async def test_similar_with_an_empty_gallery_says_how_to_teach(world: World, bot_settings: Settings) -> None:
    async with running_bot(bot_settings, world.emu):
        reply = await (await world.member.slash("similar", image=world.picture(BLONDE, seed=1))).final()
    assert reply.embeds[0]["title"] == "No similar references" and "/enroll" in reply.embeds[0]["description"]
    assert not reply.files and reply.data["allowed_mentions"] == {"parse": []}


async def test_similar_withholds_adult_references_outside_age_restricted_channels(
    world: World,
    rating_settings: Settings,  # noqa: F811
) -> None:
    async with running_bot(rating_settings, world.emu) as bot:
        for seed in (1, 2, 3):
            await bot.services.enrollment.enroll_approved("Scarlet", blocks(RED, seed))
        query = blocks(RED, 4)
        general = await (await world.member.slash("similar", image=world.emu.add_attachment(query, "q.png"))).final()
        nsfw_user = world.member.in_channel("nsfw")
        nsfw = await (await nsfw_user.slash("similar", image=world.emu.add_attachment(query, "q.png"))).final()
    assert general.embeds[0]["description"].count("picture not shown in this channel") == 3
    assert "not shown" not in nsfw.embeds[0]["description"]
    first_tile = (MARGIN + 150, MARGIN + 5)  # top-right corner of the first thumbnail: the picture, or grey
    assert gallery_png(general.files).convert("RGB").getpixel(first_tile) == (64, 66, 72)
    red, green, blue = gallery_png(nsfw.files).convert("RGB").getpixel(first_tile)
    assert red > 150 and green < 100 and blue < 100


async def test_tags_lists_the_palette_colours_by_region(world: World, bot_settings: Settings) -> None:
    picture = encode(draw_character(BLONDE, seed=3))
    async with running_bot(bot_settings, world.emu) as bot:
        reply = await (await world.member.slash("tags", image=world.emu.add_attachment(picture, "a.png"))).final()
        analysis = await bot.services.analyzer.analyze(InferenceJob(image=picture, detect_faces=False))
        expected = bot.services.tags.tags_of(analysis.whole.tag_probs)
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert list(fields) == [region.capitalize() for region, _ in expected.regions()]
    for region, scores in expected.regions():
        assert fields[region.capitalize()] == scores_text(scores)
    assert "yellow" in fields["Top"], "blonde hair at the top"
    assert "palette@" in reply.embeds[0]["footer"]["text"]
    assert reply.data["allowed_mentions"] == {"parse": []} and embed_size(reply.embeds[0]) <= EMBED_TOTAL


async def test_tags_by_category_with_a_wd_tagger(
    world: World,
    rating_settings: Settings,  # noqa: F811
) -> None:
    async with running_bot(rating_settings, world.emu):
        green = await (
            await world.member.slash("tags", image=world.emu.add_attachment(blocks(GREEN, 1), "g.png"))
        ).final()
    fields = {f["name"]: f["value"] for f in green.embeds[0]["fields"]}
    assert list(fields) == ["Rating", "Character", "General"]
    assert fields["Rating"].startswith("general ")
    assert fields["Character"].startswith("hatsune\\_miku ")
    assert fields["General"].startswith("green\\_hair ") and "red\\_hair" not in fields["General"]
    assert green.data["allowed_mentions"] == {"parse": []}
