"""A local Discord: the REST routes and the gateway websocket the bot uses, on 127.0.0.1, recording everything."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord_emulator import payloads as p
from tests.discord_emulator.limits import Fault
from tests.discord_emulator.records import BODY, FILES, InteractionHandle, RecordedRequest, Reply

API = "/api/v10"


@dataclass
class Guild:
    """A guild the emulator serves: its channels, roles and members, as payloads."""

    id: int
    name: str
    owner_id: int
    channels: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """The GUILD_CREATE payload."""
        return {
            "id": str(self.id),
            "name": self.name,
            "owner_id": str(self.owner_id),
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "features": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
            "unavailable": False,
            "large": False,
            "member_count": len(self.members),
            "roles": self.roles,
            "channels": self.channels,
            "members": self.members,
            "emojis": [],
            "stickers": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "joined_at": p.iso_now(),
        }


class DiscordEmulator:
    """REST + gateway emulation; tests dispatch events and read back what the bot sent."""

    def __init__(self) -> None:
        self.bot_user = p.user(p.snowflake(), "waifu-bot", bot=True)
        self.application_id = int(self.bot_user["id"])
        self.owner = p.user(p.snowflake(), "owner")
        """Owner of the emulated guilds."""
        self.developer = p.user(p.snowflake(), "developer")
        """Owner of the bot's application (discord.py's `is_owner`), a plain member of every guild."""
        self.token = "emulated-token-" + secrets.token_hex(8)
        self.requests: list[RecordedRequest] = []
        self.guilds: dict[int, Guild] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, InteractionHandle] = {}
        self.attachments: dict[str, bytes] = {}
        self.streams: dict[str, tuple[bytes, int]] = {}
        """Attachments served as a chunked stream: (first bytes, total size, the rest zeros)."""
        self.streamed: dict[str, int] = {}
        """Bytes of each streamed attachment that the server got to write before the reader hung up."""
        self.faults: list[Fault] = []
        self.message_content_allowed = True
        """False: like a portal where the Message Content intent is off (IDENTIFY asking for it is closed, 4014)."""
        self.refused: list[tuple[str, list[str]]] = []
        """(path, problems) of each request refused with 400 for breaking Discord's embed limits."""
        self.identifies: list[dict[str, Any]] = []
        self.downloads: list[str] = []
        self.downloaded = asyncio.Event()
        self.identified = asyncio.Event()
        self.synced = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.recorded = asyncio.Event()

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{key}/{filename}", self._cdn)
        app.router.add_route("*", API + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close every socket and stop listening."""
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """HTTP root of the emulator."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What `discord.http.Route.BASE` must be set to."""
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        """What the gateway websocket URL must be."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ---- world -------------------------------------------------------------------------------

    def add_guild(self, name: str = "Test Guild") -> Guild:
        """A guild with #general, an age-restricted #nsfw, @everyone and a Moderators role; the owner is a member."""
        guild_id = p.snowflake()
        guild = Guild(id=guild_id, name=name, owner_id=int(self.owner["id"]))
        guild.roles.append(p.role(guild_id, "@everyone", p.EVERYONE_PERMISSIONS))
        guild.roles.append(p.role(p.snowflake(), "Moderators", 0, position=1))
        guild.channels.append(p.text_channel(p.snowflake(), guild_id, "general"))
        guild.channels.append(p.text_channel(p.snowflake(), guild_id, "nsfw", nsfw=True, position=1))
        guild.members.append(p.member(self.owner, []))
        guild.members.append(p.member(self.developer, []))
        guild.members.append(p.member(self.bot_user, []))
        self.guilds[guild_id] = guild
        return guild

    def add_member(self, guild: Guild, name: str, *, roles: list[int] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """A new user who is a member of `guild`; returns the user payload."""
        member_user = p.user(p.snowflake(), name)
        guild.members.append(p.member(member_user, list(roles)))
        return member_user

    def add_attachment(self, data: bytes, filename: str = "image.png", content_type: str | None = "image/png") -> dict:
        """Serve `data` from the emulator's CDN and return the attachment payload pointing at it."""
        attachment_id = p.snowflake()
        key = str(attachment_id)
        self.attachments[key] = data
        url = f"{self.base_url}/cdn/{key}/{filename}"
        return p.attachment(attachment_id, filename, url, len(data), content_type)

    def add_streamed_attachment(
        self, head: bytes, total: int, *, declared: int, filename: str = "huge.png", content_type: str = "image/png"
    ) -> dict:
        """An attachment whose payload declares `declared` bytes while the CDN streams `total` (head, then zeros)."""
        attachment_id = p.snowflake()
        self.streams[str(attachment_id)] = (head, total)
        url = f"{self.base_url}/cdn/{attachment_id}/{filename}"
        return p.attachment(attachment_id, filename, url, declared, content_type)

    def fail_next(self, method: str, prefix: str, status: int, body: dict[str, Any], **options: Any) -> Fault:
        """Make the next request(s) to a REST route fail the way Discord would (403, 404, 429...)."""
        fault = Fault(method, prefix, status, body, **options)
        self.faults.append(fault)
        return fault

    def add_message(self, channel: dict[str, Any], author: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """A message that exists in a channel (not dispatched)."""
        message = p.message(p.snowflake(), int(channel["id"]), author, guild_id=int(channel["guild_id"]), **fields)
        self.messages[int(message["id"])] = message
        return message

    # ---- gateway -----------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send one DISPATCH to every connected bot."""
        self._sequence += 1
        frame = json.dumps({"op": 0, "t": event, "s": self._sequence, "d": data})
        for socket in list(self._sockets):
            if not socket.closed:
                await socket.send_str(frame)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        try:
            await socket.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                await self._on_gateway_frame(socket, json.loads(frame.data))
        finally:
            self._sockets.remove(socket)
        return socket

    async def _on_gateway_frame(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == 1:
            await socket.send_json({"op": 11})
        elif op == 2:
            self.identifies.append(frame["d"])
            if not self.message_content_allowed and frame["d"].get("intents", 0) & p.MESSAGE_CONTENT_INTENT:
                await socket.close(code=4014, message=b"Disallowed intent(s).")
                return
            await self._send_ready(socket)
        elif op == 6:
            await socket.send_json({"op": 9, "d": False})

    async def _send_ready(self, socket: web.WebSocketResponse) -> None:
        session_id = secrets.token_hex(8)
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
        }
        self._sequence += 1
        await socket.send_json({"op": 0, "t": "READY", "s": self._sequence, "d": ready})
        for guild in self.guilds.values():
            self._sequence += 1
            await socket.send_json({"op": 0, "t": "GUILD_CREATE", "s": self._sequence, "d": guild.payload()})
        self.identified.set()

    # ---- REST --------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(API):
            body, files = await _read_body(request)
            request[BODY] = body
            request[FILES] = files
            self.requests.append(
                RecordedRequest(request.method, request.path[len(API) :], dict(request.query), body, files)
            )
            self.recorded.set()
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return await handler(request)

    def _refusal(self, request: web.Request) -> web.Response | None:
        """A wrong bot token (401) or a fault a test asked for, else None."""
        path = request.path[len(API) :]
        authorization = request.headers.get("Authorization")
        if authorization is not None and authorization != f"Bot {self.token}":
            return _json_response({"message": "401: Unauthorized", "code": 0}, 401)
        fault = next((f for f in self.faults if f.matches(request.method, path)), None)
        if fault is None:
            return None
        fault.times -= 1
        return _json_response(fault.body, fault.status, fault.headers)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.downloads.append(request.match_info["filename"])
        self.downloaded.set()
        if request.match_info["key"] in self.streams:
            return await self._stream(request, request.match_info["key"])
        data = self.attachments.get(request.match_info["key"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _stream(self, request: web.Request, key: str) -> web.StreamResponse:
        head, total = self.streams[key]
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = bytes(64 * 1024)
        sent = 0
        try:
            await response.write(head)
            sent = len(head)
            while sent < total:
                piece = chunk[: total - sent]
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the reader hung up: exactly what a capped download does
        finally:
            self.streamed[key] = sent
        return response

    async def _api(self, request: web.Request) -> web.Response:
        from tests.discord_emulator.routes import handle_api

        return await handle_api(self, request, request.match_info["tail"].split("/"))

    def new_reply(self, handle: InteractionHandle, reply: Reply) -> None:
        """Attach a reply to its interaction."""
        handle.add(reply)

    def interaction_by_token(self, token: str) -> InteractionHandle | None:
        """The interaction whose webhook token this is."""
        return next((h for h in self.interactions.values() if h.token == token), None)

    def requests_to(self, method: str, prefix: str) -> list[RecordedRequest]:
        """Requests whose method matches and whose path starts with `prefix` (after /api/v10)."""
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]


def _json_response(data: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when the content type is exactly "application/json" (no charset)
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    """JSON body, or the payload_json and files of a multipart body."""
    if request.method in ("GET", "HEAD", "DELETE") and not request.can_read_body:
        return None, {}
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                files[part.filename or part.name or "file"] = bytes(await part.read())
        return body, files
    raw = await request.read()
    if not raw:
        return None, {}
    with contextlib.suppress(ValueError):
        return json.loads(raw), {}
    return raw.decode(errors="replace"), {}
