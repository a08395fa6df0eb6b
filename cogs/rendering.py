"""Result dataclasses -> embeds. Pure functions of the results, so the same answer looks the same everywhere."""

from __future__ import annotations

import discord

from bot.services.references import best_match
from bot.services.results import CharacterRecord, EnrollmentResult, Evidence, IdentifyResult, RegionResult, WhyNotResult
from bot.services.review import Submission
from cogs.common import esc

FOUND_COLOUR = discord.Colour.green()
UNKNOWN_COLOUR = discord.Colour.light_grey()
REVIEW_COLOUR = discord.Colour.blurple()
UNKNOWN_TEXT = (
    "I don't recognise this character. If you know who it is, teach me with `/enroll character:<name> image:<picture>`."
)

SOME_UNKNOWN_TEXT = "I don't recognise every face. Teach me the others with `/enroll character:<name> image:<picture>`."
TAGGER_ONLY_TEXT = (
    "The tagger knows **{name}**, but nobody has taught me its pictures yet: add one with "
    "`/enroll character:{name} image:<picture>`."
)


EMBED_TOTAL = 6000
"""Discord refuses a message whose embeds hold more text than this, all of them together."""
FIELD_VALUE, MAX_FIELDS, TITLE = 1024, 25, 256


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def listed(items: list[str], limit: int = FIELD_VALUE) -> str:
    """Comma-separated items that fit in `limit` characters, then how many did not."""
    shown: list[str] = []
    for position, item in enumerate(items):
        rest = len(items) - position - 1
        tail = f", … and {rest} more" if rest else ""
        if len(", ".join([*shown, item]) + tail) > limit:
            return ", ".join(shown) + f"{', ' if shown else ''}… and {len(items) - position} more"
        shown.append(item)
    return ", ".join(shown)


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


def identify_embed(
    result: IdentifyResult, *, label: str | None = None, thumbnail: str | None = None, budget: int = EMBED_TOTAL
) -> discord.Embed:
    """Per region: the top matches with confidence and series; unknown regions say so and how to teach the bot.

    `budget`: the characters this embed may hold (a message of several embeds shares Discord's 6000).
    """
    best = best_match(result)
    if best is not None:
        embed = discord.Embed(title=clip(f"This looks like {esc(best.character)}", TITLE), colour=FOUND_COLOUR)
        if best.character_id is None:
            embed.description = TAGGER_ONLY_TEXT.format(name=esc(best.character))
        elif any(region.unknown for region in result.regions):
            embed.description = SOME_UNKNOWN_TEXT
    else:
        embed = discord.Embed(title="Unknown character", colour=UNKNOWN_COLOUR, description=UNKNOWN_TEXT)
    if thumbnail is not None:
        embed.set_thumbnail(url=f"attachment://{thumbnail}")
    footer = [label] if label else []
    footer += list(result.notes)
    if footer:
        embed.set_footer(text=clip(" · ".join(footer), min(2048, budget // 6)))
    _add_region_fields(embed, result.regions, budget - len(embed))
    return embed


def _add_region_fields(embed: discord.Embed, regions: tuple[RegionResult, ...], room: int) -> None:
    """One field per region while they fit Discord's limits; then one field saying how many were left out."""
    reserve = 80  # for the closing "and N more faces" field
    for index, region in enumerate(regions, start=1):
        value = _match_lines(region)
        if region.unknown:
            value = "Nobody I know is close enough. Closest:\n" + value if region.matches else "Nobody I know."
        name = _region_title(region, index, len(regions))
        left = len(regions) - index
        space = room - len(name) - (reserve if left else 0)
        if space < min(len(value), 200) or (left and len(embed.fields) == MAX_FIELDS - 1):
            more = len(regions) - index + 1
            faces = "face" if more == 1 else "faces"
            embed.add_field(name=f"… and {more} more {faces}", value="Not shown: one answer can hold only so much.")
            return
        value = clip(value, min(FIELD_VALUE, space))
        embed.add_field(name=name, value=value, inline=False)
        room -= len(name) + len(value)


def _evidence_lines(items: tuple[Evidence, ...], character: str, rival: str | None, limit: int = 6) -> str:
    lines = []
    for item in items[:limit]:
        line = f"`{esc(item.tag)}` picture {item.image:.2f} · {character} {item.character:.2f}"
        if rival is not None and item.rival is not None:
            line += f" · {rival} {item.rival:.2f}"
        lines.append(f"{line} ({item.weight:+.2f})")
    return "\n".join(lines) or "nothing notable"


def _measured(result: WhyNotResult, value: float) -> str:
    """A ranking value named by what it measures: a CCIP difference, or a tag-profile distance."""
    return f"CCIP difference {value:.3f}" if result.measure == "embedding" else f"distance {value:.3f}"


def whynot_embed(result: WhyNotResult) -> discord.Embed:
    """Rank, distance, best match, and the strongest tag evidence for and against, with both values."""
    name = esc(result.character)
    if result.rank == 1:
        headline = (
            f"**{name}** is the best match here ({_measured(result, result.distance)}, {percent(result.confidence)})."
        )
    else:
        headline = (
            f"**{name}** ranks #{result.rank} of {result.candidates} ({_measured(result, result.distance)}, "
            f"{percent(result.confidence)}). The best match is **{esc(result.best_match)}** "
            f"({_measured(result, result.best_distance)})."
        )
    if result.measure == "embedding" and result.tag_distance is not None:
        headline += f"\nThe tags below explain the tag distance of **{name}**, {result.tag_distance:.3f}."
    embed = discord.Embed(title=f"Why (not) {name}?", description=headline, colour=REVIEW_COLOUR)
    rival = esc(result.compared_with) if result.compared_with else None
    if rival is not None:
        embed.description += (
            f"\nEvidence compares **{name}** with **{rival}**: the tags where the picture is nearer one."
        )
    embed.add_field(name=f"For {name}", value=_evidence_lines(result.supporting, name, rival)[:1024], inline=False)
    embed.add_field(name=f"Against {name}", value=_evidence_lines(result.opposing, name, rival)[:1024], inline=False)
    return embed


def submitted_text(result: EnrollmentResult) -> str:
    """The private acknowledgement of a community submission."""
    new = " (a new character)" if result.created_character else ""
    return (
        f"Thanks! Your picture of **{esc(result.character.name)}**{new} is submission #{result.reference.id}; "
        "a moderator will review it."
    )


def review_embed(submission: Submission, image: str | None, *, hidden_rating: bool = False) -> discord.Embed:
    """One pending submission as a moderator sees it; `hidden_rating`: the picture is sent as a spoiler."""
    reference = submission.reference
    embed = discord.Embed(title=f"Submission #{reference.id}: {esc(submission.character_name)}", colour=REVIEW_COLOUR)
    if submission.new_character:
        novelty = "New character: approving shows this name to members for the first time."
        if submission.looks_like:
            novelty = f"New character, looks like **{esc(submission.looks_like)}**: check it is not an impersonation."
        embed.add_field(name="Character", value=novelty, inline=False)
    if submission.character and submission.character.series:
        embed.add_field(name="Series", value=esc(submission.character.series))
    submitter = f"<@{reference.submitted_by}>" if reference.submitted_by else "unknown"
    embed.add_field(name="Submitted by", value=submitter)
    embed.add_field(name="Submitted", value=discord.utils.format_dt(reference.submitted_at, "R"))
    if reference.rating:
        note = " (the picture is behind a spoiler: this channel is not age-restricted)" if hidden_rating else ""
        embed.add_field(name="Rating", value=f"{esc(reference.rating)}{note}", inline=False)
    if reference.source:
        embed.add_field(name="Source", value=esc(reference.source)[:1024], inline=False)
    if submission.warnings:
        embed.add_field(name="⚠ Picture", value="\n".join(f"• {w}" for w in submission.warnings), inline=False)
    if image is not None and not hidden_rating:
        embed.set_image(url=f"attachment://{image}")
    elif submission.image is None:
        embed.add_field(name="Picture", value="The picture file is missing.", inline=False)
    elif image is None:
        size = len(submission.image) / (1024 * 1024)
        text = f"The picture ({size:.1f} MB) is too large to show here; see its source, or ask for a smaller one."
        embed.add_field(name="Picture", value=text, inline=False)
    embed.set_footer(text=f"{submission.pending} pending in this server")
    return embed


def character_embed(character: CharacterRecord, approved: int, pending: int) -> discord.Embed:
    """What moderators need to know about one character."""
    embed = discord.Embed(title=esc(character.name), colour=REVIEW_COLOUR)
    embed.add_field(name="Series", value=esc(character.series) if character.series else "—")
    embed.add_field(name="Aliases", value=listed([esc(a) for a in character.aliases]) or "—")
    embed.add_field(name="Scope", value="global" if character.guild_id is None else "this server")
    embed.add_field(name="References", value=f"{approved} approved, {pending} pending")
    embed.set_footer(text=f"character #{character.id}")
    return embed
