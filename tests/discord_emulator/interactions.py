"""Interactions a test sends as a user would: slash commands, context menus, autocomplete, button presses."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from tests.discord_emulator import payloads as p
from tests.discord_emulator.records import InteractionHandle

if TYPE_CHECKING:
    from tests.discord_emulator.server import DiscordEmulator, Guild

OPTION_TYPES = {str: 3, int: 4, bool: 5, float: 10}
ATTACHMENT_OPTION = 11
ROLE_OPTION = 8
CHANNEL_OPTION = 7


class UserActions:
    """One user of one guild doing things in a channel; every method dispatches an INTERACTION_CREATE."""

    def __init__(self, emu: DiscordEmulator, guild: Guild, user: dict[str, Any], *, permissions: int = 0) -> None:
        self.emu = emu
        self.guild = guild
        self.user = user
        self.permissions = permissions
        self.channel = guild.channels[0]

    def in_channel(self, name: str) -> UserActions:
        """The same user acting in another channel of the guild."""
        other = UserActions(self.emu, self.guild, self.user, permissions=self.permissions)
        other.channel = next(c for c in self.guild.channels if c["name"] == name)
        return other

    def _member(self) -> dict[str, Any]:
        stored = next(m for m in self.guild.members if m["user"]["id"] == self.user["id"])
        everyone = int(self.guild.roles[0]["permissions"])
        return p.member(self.user, [int(r) for r in stored["roles"]], permissions=everyone | self.permissions)

    async def _send(self, interaction_type: int, data: dict[str, Any], **extra: Any) -> InteractionHandle:
        interaction_id = p.snowflake()
        token = "itoken-" + secrets.token_hex(12)
        payload = {
            "id": str(interaction_id),
            "application_id": str(self.emu.application_id),
            "type": interaction_type,
            "data": data,
            "guild_id": str(self.guild.id),
            "channel_id": self.channel["id"],
            "channel": self.channel,
            "member": self._member(),
            "token": token,
            "version": 1,
            "app_permissions": str((1 << 53) - 1),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            **extra,
        }
        handle = InteractionHandle(id=interaction_id, token=token, payload=payload)
        self.emu.interactions[interaction_id] = handle
        await self.emu.dispatch("INTERACTION_CREATE", payload)
        return handle

    def _command(self, name: str, command_type: int = 1) -> dict[str, Any]:
        for scope in (self.guild.id, None):
            for command in self.emu.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == command_type:
                    return command
        raise LookupError(f"the bot did not sync a command named {name!r} (type {command_type})")

    def _options(self, options: dict[str, Any], focused: str | None) -> tuple[list[dict], dict[str, Any]]:
        built: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in options.items():
            if isinstance(value, dict) and "filename" in value:
                resolved.setdefault("attachments", {})[value["id"]] = value
                built.append({"name": name, "type": ATTACHMENT_OPTION, "value": value["id"]})
            elif isinstance(value, dict) and "permissions" in value:
                resolved.setdefault("roles", {})[value["id"]] = value
                built.append({"name": name, "type": ROLE_OPTION, "value": value["id"]})
            elif isinstance(value, dict) and "guild_id" in value:
                channel = {k: value[k] for k in ("id", "name", "type", "permission_overwrites", "nsfw", "parent_id")}
                resolved.setdefault("channels", {})[value["id"]] = {**channel, "permissions": str((1 << 53) - 1)}
                built.append({"name": name, "type": CHANNEL_OPTION, "value": value["id"]})
            else:
                option = {"name": name, "type": OPTION_TYPES.get(type(value), 3), "value": value}
                if name == focused:
                    option["focused"] = True
                built.append(option)
        return built, resolved

    async def slash(self, name: str, subcommand: str | None = None, **options: Any) -> InteractionHandle:
        """Run `/name [subcommand] option:value...`; attachment, role and channel values are their payloads."""
        return await self._chat_input(2, name, subcommand, options, focused=None)

    async def autocomplete(self, name: str, focused: str, subcommand: str | None = None, **options: Any):
        """Type into option `focused` of `/name`; the bot answers with choices."""
        return await self._chat_input(4, name, subcommand, options, focused=focused)

    async def _chat_input(self, interaction_type: int, name: str, subcommand: str | None, options: dict, focused):
        command = self._command(name)
        built, resolved = self._options(options, focused)
        if subcommand is not None:
            built = [{"name": subcommand, "type": 1, "options": built}]
        data = {"id": command["id"], "name": name, "type": 1, "options": built, "guild_id": str(self.guild.id)}
        if resolved:
            data["resolved"] = resolved
        return await self._send(interaction_type, data)

    async def message_command(self, name: str, message: dict[str, Any]) -> InteractionHandle:
        """Run a message context-menu command on `message`."""
        command = self._command(name, command_type=3)
        data = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
            "guild_id": str(self.guild.id),
        }
        return await self._send(2, data)

    async def press(self, message: dict[str, Any], custom_id: str) -> InteractionHandle:
        """Press the button `custom_id` on `message` (the emulator's current copy of it)."""
        current = self.emu.messages.get(int(message["id"]), message)
        return await self._send(3, {"custom_id": custom_id, "component_type": 2}, message=current)

    async def submit_modal(self, modal: dict[str, Any], values: dict[str, str]) -> InteractionHandle:
        """Fill the modal the bot opened (its callback data) by field label, and submit it."""
        inputs = {label: custom_id for label, custom_id in _text_inputs(modal.get("components") or [], None)}
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": inputs[k], "value": v}]} for k, v in values.items()]
        return await self._send(5, {"custom_id": modal["custom_id"], "components": rows})

    async def post(self, content: str = "", attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Post a message in the channel (MESSAGE_CREATE)."""
        message = self.emu.add_message(self.channel, self.user, content=content, attachments=attachments or [])
        await self.emu.dispatch("MESSAGE_CREATE", {**message, "member": self._member()})
        return message


def _text_inputs(components: list[dict[str, Any]], label: str | None) -> list[tuple[str, str]]:
    """(label, custom_id) of every text input in a modal, whether in action rows or label components."""
    found: list[tuple[str, str]] = []
    for component in components:
        if component.get("type") == 4:
            found.append((component.get("label") or label or "", component["custom_id"]))
        children = component.get("components") or ([component["component"]] if "component" in component else [])
        found += _text_inputs(children, component.get("label", label))
    return found
