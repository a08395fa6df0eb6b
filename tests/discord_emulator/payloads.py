"""Builders of the JSON shapes Discord sends, with only the fields discord.py reads, so scenarios stay short."""

from __future__ import annotations

import itertools
import time
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
_counter = itertools.count(1)

MANAGE_GUILD = 1 << 5
MESSAGE_CONTENT_INTENT = 1 << 15
ADMINISTRATOR = 1 << 3
EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)
"""View channel, send messages, embed links, attach files, read history, use application commands."""


def snowflake() -> int:
    """A fresh, increasing snowflake, so ids sort like Discord's do."""
    millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (millis << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    """The current time in Discord's ISO-8601 form."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


def role(role_id: int, name: str, permissions: int, position: int = 0) -> dict[str, Any]:
    """A guild role."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def text_channel(channel_id: int, guild_id: int, name: str, *, nsfw: bool = False, position: int = 0) -> dict[str, Any]:
    """A guild text channel."""
    return {
        "id": str(channel_id),
        "guild_id": str(guild_id),
        "type": 0,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": nsfw,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def member(user_payload: dict[str, Any], role_ids: list[int], *, permissions: int | None = None) -> dict[str, Any]:
    """A guild member; `permissions` is set only on interaction members (Discord computes it there)."""
    data: dict[str, Any] = {
        "user": user_payload,
        "roles": [str(r) for r in role_ids],
        "joined_at": iso_now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def attachment(attachment_id: int, filename: str, url: str, size: int, content_type: str | None) -> dict[str, Any]:
    """A message attachment whose URL the emulator serves."""
    data: dict[str, Any] = {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
    }
    if content_type is not None:
        data["content_type"] = content_type
    return data


def message(
    message_id: int,
    channel_id: int,
    author: dict[str, Any],
    *,
    guild_id: int | None = None,
    content: str = "",
    attachments: list[dict[str, Any]] | None = None,
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    flags: int = 0,
    message_reference: dict[str, Any] | None = None,
    webhook_id: int | None = None,
) -> dict[str, Any]:
    """A message object as Discord returns and dispatches it."""
    data: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": embeds or [],
        "components": components or [],
        "pinned": False,
        "type": 0 if message_reference is None else 19,
        "flags": flags,
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    if message_reference is not None:
        data["message_reference"] = message_reference
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
    return data
