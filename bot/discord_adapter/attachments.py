"""Getting picture bytes out of Discord safely: size cap first, then the magic bytes decide.

The declared content type is only a hint: Discord sends `application/octet-stream` for pictures from some
clients, and a declared `image/png` proves nothing, so only the first bytes say what a file is.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import discord

from bot.discord_adapter.replies import written_for_discord
from models.errors import ImageRejected
from models.intake import sniff_image_type

ACCEPTED = "PNG, JPEG, GIF, WebP or BMP"
DOWNLOAD_SECONDS = 20.0


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def too_large(size: int | None, max_bytes: int) -> ImageRejected:
    """The error for a file over the cap, naming both sizes (`size` None: only known to be over, reading stopped)."""
    if size is None:
        message = f"That file is larger than the limit of {_human(max_bytes)}. Send a smaller picture."
    else:
        message = f"That file is {_human(size)}; the limit is {_human(max_bytes)}. Send a smaller picture."
    return written_for_discord(ImageRejected("too_large", message, detail=f"{size or 'over'} bytes > {max_bytes}"))


def not_an_image(what: str) -> ImageRejected:
    """The error for a file that is not a picture."""
    return written_for_discord(ImageRejected("not_an_image", f"{what} is not a picture; send a {ACCEPTED} image."))


def check_image_bytes(data: bytes, max_bytes: int, *, what: str = "That file") -> bytes:
    """Refuse oversized data and data whose first bytes are not a known image format."""
    if len(data) > max_bytes:
        raise too_large(None, max_bytes)  # the data may be only the first max_bytes + 1 of a longer file
    if not data:
        raise written_for_discord(ImageRejected("empty", f"{what} is empty; send a {ACCEPTED} image."))
    if sniff_image_type(data) is None:
        raise not_an_image(what)
    return data


async def _read_at_most(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes until the end of the body (one `read(n)` returns only what has arrived so far)."""
    chunks: list[bytes] = []
    received = 0
    while received < limit:
        chunk = await stream.read(limit - received)
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


async def download_capped(session: aiohttp.ClientSession, url: str, max_bytes: int, *, failure: str) -> bytes:
    """At most `max_bytes + 1` bytes of `url`, so a file larger than it claimed cannot fill the memory."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=DOWNLOAD_SECONDS)) as response:
            if response.status != 200:
                rejected = ImageRejected("not_an_image", failure, detail=f"HTTP {response.status} from the CDN")
                raise written_for_discord(rejected)
            return await _read_at_most(response.content, max_bytes + 1)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise written_for_discord(ImageRejected("not_an_image", failure, detail=repr(error))) from error


async def read_attachment(attachment: discord.Attachment, max_bytes: int, session: aiohttp.ClientSession) -> bytes:
    """Download an attachment now (signed URLs expire), capped, after its declared size; the bytes decide the type."""
    what = f"`{discord.utils.escape_markdown(attachment.filename)}`"
    if attachment.size > max_bytes:
        raise too_large(attachment.size, max_bytes)
    failure = f"I could not download {what}; send it again."
    data = await download_capped(session, attachment.url, max_bytes, failure=failure)
    return check_image_bytes(data, max_bytes, what=what)


UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Content types that say nothing about the file: the name, then the bytes, decide."""
PICTURE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "webp", "bmp"})


def is_image_attachment(attachment: discord.Attachment) -> bool:
    """Whether an attachment may be a picture, to pick it from a message: a hint only, the bytes decide later."""
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    if content_type.startswith("image/"):
        return True
    return content_type in UNTYPED and attachment.filename.lower().rsplit(".", 1)[-1] in PICTURE_SUFFIXES


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
        return await read_attachment(source.attachment, max_bytes, session)
    assert source.url is not None
    failure = "I could not download that embedded picture; attach it instead."
    data = await download_capped(session, source.url, max_bytes, failure=failure)
    return check_image_bytes(data, max_bytes, what="That embedded file")
