"""The REST routes: each answers with the JSON Discord would, and files interaction answers on their handle."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.discord_emulator import payloads as p
from tests.discord_emulator.limits import CONTENT_LIMIT, UPLOAD_LIMIT, embed_problems
from tests.discord_emulator.records import BODY, FILES, Reply

if TYPE_CHECKING:
    from tests.discord_emulator.server import DiscordEmulator


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses JSON only when the content type is exactly "application/json" (no charset)
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _not_found() -> web.Response:
    return _json({"message": "404: Not Found", "code": 0}, status=404)


async def handle_api(emu: DiscordEmulator, request: web.Request, parts: list[str]) -> web.Response:
    """Route one REST request by its path segments."""
    method = request.method
    body = request[BODY]
    files = request[FILES]
    sent = body.get("data") if isinstance(body, dict) and "type" in body and "data" in body else body
    problems = embed_problems(sent.get("embeds")) if isinstance(sent, dict) else []
    if isinstance(sent, dict) and len(sent.get("content") or "") > CONTENT_LIMIT:
        problems.append(f"content of {len(sent['content'])} characters > {CONTENT_LIMIT}")
    if any(len(data) > UPLOAD_LIMIT for data in files.values()):
        emu.refused.append((request.path, ["file over the upload limit"]))
        return _json({"message": "Request entity too large", "code": 40005}, status=413)
    if problems:
        emu.refused.append((request.path, problems))
        errors = {"embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": text} for text in problems]}}
        return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors}, status=400)
    match parts:
        case ["users", "@me"] if method == "GET":
            return _json(emu.bot_user)
        case ["users", user_id] if method == "GET" and user_id.isdigit():
            found = _find_user(emu, int(user_id))
            return _json(found) if found else _not_found()
        case ["users", "@me", "channels"] if method == "POST":
            recipient = _find_user(emu, int(body["recipient_id"])) or p.user(int(body["recipient_id"]), "someone")
            return _json({"id": str(p.snowflake()), "type": 1, "recipients": [recipient], "last_message_id": None})
        case ["applications", "@me"] | ["oauth2", "applications", "@me"] if method == "GET":
            return _json(_application(emu))
        case ["gateway", "bot"]:
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return _json({"url": emu.gateway_url, "shards": 1, "session_start_limit": limit})
        case ["gateway"]:
            return _json({"url": emu.gateway_url})
        case ["applications", _, "commands"]:
            return _commands(emu, None, method, body)
        case ["applications", _, "guilds", guild_id, "commands"]:
            return _commands(emu, int(guild_id), method, body)
        case ["interactions", interaction_id, token, "callback"] if method == "POST":
            return _callback(emu, int(interaction_id), token, body, files)
        case ["webhooks", _, token] if method == "POST":
            return _followup(emu, token, body, files)
        case ["webhooks", _, token, "messages", message_id]:
            return _webhook_message(emu, token, message_id, method, body, files)
        case ["channels", channel_id] if method == "GET":
            channel = _find_channel(emu, int(channel_id))
            return _json(channel) if channel else _not_found()
        case ["channels", channel_id, "messages"] if method == "POST":
            message = _bot_message(emu, int(channel_id), body, files)
            return _json(message)
        case ["channels", _, "messages", message_id] if method in ("GET", "PATCH"):
            message = emu.messages.get(int(message_id))
            if message is None:
                return _not_found()
            if method == "PATCH":
                message.update({k: v for k, v in (body or {}).items() if k in ("content", "embeds", "components")})
            return _json(message)
        case ["guilds", guild_id, "members", user_id] if method == "GET":
            guild = emu.guilds.get(int(guild_id))
            found = guild and next((m for m in guild.members if m["user"]["id"] == user_id), None)
            return _json(found) if found else _not_found()
    return _not_found()


def _application(emu: DiscordEmulator) -> dict[str, Any]:
    return {
        "id": str(emu.application_id),
        "name": "waifu-bot",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": emu.developer,
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "summary": "",
        "rpc_origins": [],
    }


def _commands(emu: DiscordEmulator, guild_id: int | None, method: str, body: Any) -> web.Response:
    if method == "PUT":
        stored = []
        for command in body:
            stored.append(
                {
                    **command,
                    "id": str(p.snowflake()),
                    "application_id": str(emu.application_id),
                    "version": str(p.snowflake()),
                    "guild_id": str(guild_id) if guild_id else None,
                    "type": command.get("type", 1),
                    "description": command.get("description", ""),
                    "default_member_permissions": command.get("default_member_permissions"),
                }
            )
        emu.commands[guild_id] = stored
        emu.synced.set()
    return _json(emu.commands.get(guild_id, []))


def _bot_message(
    emu: DiscordEmulator, channel_id: int, body: Any, files: dict[str, bytes], *, webhook: bool = False
) -> dict[str, Any]:
    """Store a message the bot sent, with the fields Discord fills in."""
    body = body or {}
    channel = _find_channel(emu, channel_id)
    attachments = [emu.add_attachment(data, name, None) for name, data in files.items()]
    message = p.message(
        p.snowflake(),
        channel_id,
        emu.bot_user,
        guild_id=int(channel["guild_id"]) if channel and channel.get("guild_id") else None,
        content=body.get("content") or "",
        embeds=body.get("embeds"),
        components=body.get("components"),
        flags=int(body.get("flags") or 0),
        attachments=attachments,
        message_reference=body.get("message_reference"),
        webhook_id=emu.application_id if webhook else None,
    )
    emu.messages[int(message["id"])] = message
    return message


def _callback(
    emu: DiscordEmulator, interaction_id: int, token: str, body: Any, files: dict[str, bytes]
) -> web.Response:
    handle = emu.interactions.get(interaction_id)
    if handle is None or handle.token != token:
        return _json({"message": "Unknown interaction", "code": 10062}, status=404)
    if any(r.kind == "callback" for r in handle.replies):
        return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, status=400)
    callback_type = int(body["type"])
    data = body.get("data") or {}
    channel_id = int(handle.payload["channel_id"])
    interaction = {"id": str(interaction_id), "type": handle.payload["type"]}
    response: dict[str, Any] = {"interaction": interaction}
    if callback_type in (4, 5):
        message = _bot_message(emu, channel_id, data, files, webhook=True)
        handle.original_id = int(message["id"])
        interaction.update(
            response_message_id=message["id"],
            response_message_loading=callback_type == 5,
            response_message_ephemeral=bool(int(data.get("flags") or 0) & 64),
        )
        response["resource"] = {"type": callback_type, "message": message}
    elif callback_type == 7:
        target = emu.messages.get(int(handle.payload["message"]["id"]))
        if target is not None:
            target.update({k: v for k, v in data.items() if k in ("content", "embeds", "components")})
            response["resource"] = {"type": 7, "message": target}
    handle.add(Reply("callback", callback_type, data, files))
    return _json(response)


def _followup(emu: DiscordEmulator, token: str, body: Any, files: dict[str, bytes]) -> web.Response:
    handle = emu.interaction_by_token(token)
    if handle is None:
        return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
    message = _bot_message(emu, int(handle.payload["channel_id"]), body, files, webhook=True)
    handle.add(Reply("followup", None, body or {}, files))
    return _json(message)


def _webhook_message(
    emu: DiscordEmulator, token: str, message_id: str, method: str, body: Any, files: dict[str, bytes]
) -> web.Response:
    handle = emu.interaction_by_token(token)
    if handle is None:
        return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
    real_id = handle.original_id if message_id == "@original" else int(message_id)
    if real_id is None and message_id == "@original" and method == "PATCH":
        # the original of a component interaction is the message that holds the component
        real_id = int(handle.payload.get("message", {}).get("id", 0)) or None
    message = emu.messages.get(real_id) if real_id else None
    if message is None:
        return _not_found()
    if method == "DELETE":
        emu.messages.pop(real_id, None)
        return web.Response(status=204)
    if method == "PATCH":
        body = body or {}
        message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        handle.add(Reply("edit", None, {**body, "flags": message.get("flags", 0)}, files))
    return _json(message)


def _find_channel(emu: DiscordEmulator, channel_id: int) -> dict[str, Any] | None:
    for guild in emu.guilds.values():
        for channel in guild.channels:
            if int(channel["id"]) == channel_id:
                return channel
    return None


def _find_user(emu: DiscordEmulator, user_id: int) -> dict[str, Any] | None:
    for guild in emu.guilds.values():
        for member in guild.members:
            if int(member["user"]["id"]) == user_id:
                return member["user"]
    return None
