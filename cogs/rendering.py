"""Result dataclasses -> embeds. Pure functions of the results, so the same answer looks the same everywhere."""

from __future__ import annotations

import discord

from bot.services.results import EnrollmentResult, Evidence, IdentifyResult, RegionResult, WhyNotResult
from bot.store.records import CharacterRecord, ReferenceRecord
from cogs.common import esc

FOUND_COLOUR = discord.Colour.green()
UNKNOWN_COLOUR = discord.Colour.light_grey()
REVIEW_COLOUR = discord.Colour.blurple()
ADULT_RATINGS = frozenset({"questionable", "explicit"})
UNKNOWN_TEXT = (
    "I don't recognise this character. If you know who it is, teach me with `/enroll character:<name> image:<picture>`."
)


def thumbnail_allowed(rating: str | None, channel: object) -> bool:
    """A reference rated questionable or explicit is shown only in an age-restricted channel."""
    if rating not in ADULT_RATINGS:
        return True
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw and is_nsfw())


def percent(confidence: float) -> str:
    """A confidence in [0, 1] as a whole percentage."""
    return f"{round(100 * confidence)}%"


def _region_title(region: RegionResult, index: int, count: int) -> str:
    if region.box is None or count == 1:
        return "Best matches"
    return f"Face {index} at {region.box[0]},{region.box[1]}"


def _match_lines(region: RegionResult) -> str:
    lines = []
    for position, match in enumerate(region.matches, start=1):
        series = f" — *{esc(match.series)}*" if match.series else ""
        origin = " · named by the tagger" if match.source == "model" else ""
        lines.append(f"{position}. **{esc(match.character)}**{series} · {percent(match.confidence)}{origin}")
    return "\n".join(lines) or "No characters are enrolled yet."


def identify_embed(result: IdentifyResult, *, label: str | None = None, thumbnail: str | None = None) -> discord.Embed:
    """Per region: the top matches with confidence and series; unknown regions say so and how to teach the bot."""
    known = [region for region in result.regions if not region.unknown and region.matches]
    if known:
        best = known[0].matches[0]
        embed = discord.Embed(title=f"This looks like {esc(best.character)}", colour=FOUND_COLOUR)
    else:
        embed = discord.Embed(title="Unknown character", colour=UNKNOWN_COLOUR, description=UNKNOWN_TEXT)
    for index, region in enumerate(result.regions, start=1):
        value = _match_lines(region)
        if region.unknown:
            value = "Nobody I know is close enough. Closest:\n" + value if region.matches else "Nobody I know."
        embed.add_field(name=_region_title(region, index, len(result.regions)), value=value[:1024], inline=False)
    if thumbnail is not None:
        embed.set_thumbnail(url=f"attachment://{thumbnail}")
    footer = [label] if label else []
    footer += list(result.notes)
    if footer:
        embed.set_footer(text=" · ".join(footer)[:2048])
    return embed


def _evidence_lines(items: tuple[Evidence, ...], character: str, limit: int = 6) -> str:
    lines = [
        f"`{esc(item.tag)}` picture {item.image:.2f} · {character} {item.character:.2f} ({item.weight:+.2f})"
        for item in items[:limit]
    ]
    return "\n".join(lines) or "nothing notable"


def whynot_embed(result: WhyNotResult) -> discord.Embed:
    """Rank, distance, best match, and the strongest tag evidence for and against, with both values."""
    name = esc(result.character)
    if result.rank == 1:
        headline = f"**{name}** is the best match here (distance {result.distance:.3f}, {percent(result.confidence)})."
    else:
        headline = (
            f"**{name}** ranks #{result.rank} of {result.candidates} (distance {result.distance:.3f}, "
            f"{percent(result.confidence)}). The best match is **{esc(result.best_match)}** "
            f"(distance {result.best_distance:.3f})."
        )
    embed = discord.Embed(title=f"Why (not) {name}?", description=headline, colour=REVIEW_COLOUR)
    embed.add_field(name=f"For {name}", value=_evidence_lines(result.supporting, name)[:1024], inline=False)
    embed.add_field(name=f"Against {name}", value=_evidence_lines(result.opposing, name)[:1024], inline=False)
    return embed


def submitted_text(result: EnrollmentResult) -> str:
    """The private acknowledgement of a community submission."""
    new = " (a new character)" if result.created_character else ""
    return (
        f"Thanks! Your picture of **{esc(result.character.name)}**{new} is submission #{result.reference.id}; "
        "a moderator will review it."
    )


def review_embed(
    reference: ReferenceRecord, character: CharacterRecord | None, pending: int, image: str | None
) -> discord.Embed:
    """One pending submission as a moderator sees it."""
    name = esc(character.name) if character else f"character #{reference.character_id}"
    embed = discord.Embed(title=f"Submission #{reference.id}: {name}", colour=REVIEW_COLOUR)
    if character and character.series:
        embed.add_field(name="Series", value=esc(character.series))
    submitter = f"<@{reference.submitted_by}>" if reference.submitted_by else "unknown"
    embed.add_field(name="Submitted by", value=submitter)
    embed.add_field(name="Submitted", value=discord.utils.format_dt(reference.submitted_at, "R"))
    if reference.source:
        embed.add_field(name="Source", value=esc(reference.source)[:1024], inline=False)
    if image is not None:
        embed.set_image(url=f"attachment://{image}")
    embed.set_footer(text=f"{pending} pending in this server")
    return embed


def character_embed(character: CharacterRecord, approved: int, pending: int) -> discord.Embed:
    """What moderators need to know about one character."""
    embed = discord.Embed(title=esc(character.name), colour=REVIEW_COLOUR)
    embed.add_field(name="Series", value=esc(character.series) if character.series else "—")
    embed.add_field(name="Aliases", value=", ".join(esc(a) for a in character.aliases) or "—")
    embed.add_field(name="Scope", value="global" if character.guild_id is None else "this server")
    embed.add_field(name="References", value=f"{approved} approved, {pending} pending")
    embed.set_footer(text=f"character #{character.id}")
    return embed
