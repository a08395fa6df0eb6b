""" "Not right?" on identify answers: the person names the right character, and the picture becomes a submission.

The button is a `DynamicItem`: the channel, the message and the picture's index live in its custom id, so an
answer sent before a restart still works after it. The picture is fetched again from that message when the
person confirms (never cached), and filed through the same enrollment service as `/enroll`: same duplicate,
rate-limit and quality checks, same review queue. A custom id that does not parse, points outside the
guild or at a picture that is gone is answered privately as a button that is no longer valid.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import discord

from bot.discord_adapter.attachments import images_in, read_source
from bot.discord_adapter.replies import reply_error
from bot.errors import NotFound
from bot.services.corrections import record_correction
from cogs.base import ReportingModal
from cogs.common import NO_MENTIONS, bot_of, guild_id_of
from cogs.rendering import submitted_text

log = logging.getLogger(__name__)

PREFIX = "notright:"
TEMPLATE = r"notright:(?P<rest>.{0,90})"
"""Every id under the prefix reaches the button, so a forged or malformed one is answered rather than ignored."""
FIELDS = (
    r"(?P<channel>[1-9][0-9]{0,19}):(?P<message>0|[1-9][0-9]{0,19}):(?P<index>[0-9])(?::(?P<said>[1-9][0-9]{0,9}))?"
)
"""Channel, message, picture index, and (optional, so buttons made before it still parse) the character named."""
SNOWFLAKE_MAX = 2**63 - 1
MAX_PICTURES = 10
"""Discord allows at most ten attachments on a message."""
THIS_MESSAGE = 0
"""Message id meaning "the answer that carries the button" (a slash answer holds its own query picture)."""
STALE_TEXT = "This button is no longer valid."


@dataclass(frozen=True)
class PictureAddress:
    """Where the picture an answer was about lives: a message of a channel, and its place among the pictures."""

    channel_id: int
    message_id: int
    index: int
    said: int | None = None
    """The gallery character the answer named for this picture, so a correction can be counted against it."""

    @property
    def custom_id(self) -> str:
        """The button's custom id."""
        said = f":{self.said}" if self.said is not None else ""
        return f"{PREFIX}{self.channel_id}:{self.message_id}:{self.index}{said}"


def parse_address(custom_id: str) -> PictureAddress | None:
    """The picture address of a "Not right?" custom id, or None when any part is missing or out of range."""
    match = re.fullmatch(FIELDS, custom_id.removeprefix(PREFIX)) if custom_id.startswith(PREFIX) else None
    if match is None:
        return None
    channel_id, message_id, index = int(match["channel"]), int(match["message"]), int(match["index"])
    if channel_id > SNOWFLAKE_MAX or message_id > SNOWFLAKE_MAX or index >= MAX_PICTURES:
        return None
    return PictureAddress(channel_id, message_id, index, int(match["said"]) if match["said"] else None)


class NotRightButton(discord.ui.DynamicItem[discord.ui.Button], template=TEMPLATE):
    """Opens the "who is it really?" form for one picture of one message."""

    def __init__(self, address: PictureAddress | None, *, label: str = "Not right?", raw: str = "") -> None:
        custom_id = address.custom_id if address else (raw or f"{PREFIX}invalid")
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=custom_id))
        self.address = address

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> NotRightButton:
        """Rebuild from the custom id (after a restart too); a bad id gives a button that says it is stale."""
        return cls(parse_address(match.string), raw=match.string[:100])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the address belongs to this guild, then ask for the right name."""
        try:
            address = self._resolved(interaction)
            if address is None:
                await interaction.response.send_message(STALE_TEXT, ephemeral=True)
                return
            await interaction.response.send_modal(CorrectionModal(address))
        except Exception as error:
            await reply_error(interaction, error)

    def _resolved(self, interaction: discord.Interaction) -> PictureAddress | None:
        """The concrete address (the answer's own id for THIS_MESSAGE), or None when it leaves the guild."""
        address = self.address
        if address is None or interaction.guild_id is None:
            return None
        if address.message_id == THIS_MESSAGE:
            if interaction.message is None or interaction.message.channel.id != address.channel_id:
                return None
            address = PictureAddress(address.channel_id, interaction.message.id, address.index, address.said)
        channel = interaction.client.get_channel(address.channel_id)
        if channel is None or getattr(getattr(channel, "guild", None), "id", None) != interaction.guild_id:
            return None  # a forged id must not read pictures of another guild's channels
        return address


class CorrectionModal(ReportingModal, title="Who is it really?"):
    """Asks for the right character; the picture is fetched again from its message on submit."""

    character = discord.ui.TextInput(label="Character name or alias", max_length=100)
    series = discord.ui.TextInput(label="Series (optional)", max_length=200, required=False)

    def __init__(self, address: PictureAddress) -> None:
        super().__init__(timeout=600)
        self.address = address

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Re-read the picture and file it as a pending submission with a link to its message."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = bot_of(interaction)
        message = await fetch_message(interaction, self.address)
        sources = images_in(message, limit=MAX_PICTURES)
        if self.address.index >= len(sources):
            raise NotFound("That picture is no longer in its message; it may have been edited or removed.")
        data = await read_source(sources[self.address.index], bot.settings.images.max_bytes, bot.http_session)
        result = await bot.services.enrollment.submit(
            self.character.value.strip(),
            data,
            guild_id=guild_id_of(interaction),
            user_id=interaction.user.id,
            series=self.series.value.strip() or None,
            source=message.jump_url,
        )
        await record_correction(
            bot.services.store,
            self.address.said,
            result,
            guild_id=guild_id_of(interaction),
            user_id=interaction.user.id,
        )
        await interaction.followup.send(submitted_text(result), ephemeral=True, allowed_mentions=NO_MENTIONS)


async def fetch_message(interaction: discord.Interaction, address: PictureAddress) -> discord.Message:
    """The message holding the picture, fetched now (its attachment URLs are signed and expire)."""
    channel = interaction.client.get_channel(address.channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        raise NotFound("The channel of that picture is gone.")
    try:
        return await channel.fetch_message(address.message_id)
    except (discord.NotFound, discord.Forbidden) as error:
        raise NotFound("The message with that picture is gone, or I can no longer read it.") from error


def not_right_view(addresses: list[PictureAddress]) -> discord.ui.View:
    """A view of one "Not right?" button per picture (numbered when there are several)."""
    view = discord.ui.View(timeout=None)
    for position, address in enumerate(addresses[:5], start=1):
        label = "Not right?" if len(addresses) == 1 else f"Not right? ({position})"
        view.add_item(NotRightButton(address, label=label))
    return view
