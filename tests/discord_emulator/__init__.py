"""A local emulation of Discord's REST API and gateway, so the real discord.py client runs in tests offline."""

from tests.discord_emulator.interactions import UserActions
from tests.discord_emulator.records import InteractionHandle, RecordedRequest, Reply
from tests.discord_emulator.server import DiscordEmulator, Guild
from tests.discord_emulator.wiring import pointed_at

__all__ = ["DiscordEmulator", "Guild", "InteractionHandle", "RecordedRequest", "Reply", "UserActions", "pointed_at"]
