"""Getting picture bytes out of Discord safely: size cap first, then content type, then magic bytes."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import discord

from bot.discord_errors import written_for_discord
from models.errors import ImageRejected
from models.intake import sniff_image_type

ACCEPTED = "PNG, JPEG, GIF, WebP or BMP"


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def too_large(size: int, max_bytes: int) -> ImageRejected:
    """The error for a file over the cap, naming both sizes."""
    return written_for_discord(
        ImageRejected(
            "too_large",
            f"That file is {_human(size)}; the limit is {_human(max_bytes)}. Send a smaller picture.",
            detail=f"{size} bytes > {max_bytes}",
        )
    )


def not_an_image(what: str) -> ImageRejected:
    """The error for a file that is not a picture."""
    return written_for_discord(ImageRejected("not_an_image", f"{what} is not a picture; send a {ACCEPTED} image."))


def check_image_bytes(data: bytes, max_bytes: int, *, what: str = "That file") -> bytes:
    """Refuse oversized data and data whose first bytes are not a known image format."""
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data:
        raise written_for_discord(ImageRejected("empty", f"{what} is empty; send a {ACCEPTED} image."))
    if sniff_image_type(data) is None:
        raise not_an_image(what)
    return data


async def read_attachment(attachment: discord.Attachment, max_bytes: int) -> bytes:
    """Download an attachment now (signed URLs expire) after checking its declared size and type."""
    what = f"`{discord.utils.escape_markdown(attachment.filename)}`"
    if attachment.size > max_bytes:
        raise too_large(attachment.size, max_bytes)
    content_type = (attachment.content_type or "").split(";")[0].strip()
    if content_type and not content_type.startswith("image/"):
        raise not_an_image(what)
    data = await attachment.read()
    return check_image_bytes(data, max_bytes, what=what)


def is_image_attachment(attachment: discord.Attachment) -> bool:
    """Whether an attachment claims to be a picture (by content type, else by file name)."""
    if attachment.content_type:
        return attachment.content_type.startswith("image/")
    return attachment.filename.lower().rsplit(".", 1)[-1] in {"png", "jpg", "jpeg", "gif", "webp", "bmp"}


@dataclass(frozen=True)
class ImageSource:
    """One picture found in a message: an attachment, or the URL of an embed's image."""

    label: str
    attachment: discord.Attachment | None = None
    url: str | None = None


def images_in(message: discord.Message, *, limit: int = 4) -> list[ImageSource]:
    """The pictures of a message, attachments first, then embed images (Discord's proxied copy)."""
    found = [ImageSource(a.filename, attachment=a) for a in message.attachments if is_image_attachment(a)]
    for embed in message.embeds:
        for media in (embed.image, embed.thumbnail):
            # only Discord's media-proxy copy: fetching the raw link would let anyone aim the bot at any URL
            url = media.proxy_url
            if url and url.startswith(("https://", "http://")):
                found.append(ImageSource(url.rsplit("/", 1)[-1].split("?")[0] or "embed image", url=url))
                break
    return found[:limit]


async def read_source(source: ImageSource, max_bytes: int, session: aiohttp.ClientSession) -> bytes:
    """The bytes of one found picture; embed URLs are streamed and cut off at the cap."""
    if source.attachment is not None:
        return await read_attachment(source.attachment, max_bytes)
    assert source.url is not None
    async with session.get(source.url, timeout=aiohttp.ClientTimeout(total=20)) as response:
        if response.status != 200:
            raise ImageRejected("not_an_image", "I could not download that embedded picture; attach it instead.")
        data = await response.content.read(max_bytes + 1)
    return check_image_bytes(data, max_bytes, what="That embedded file")
