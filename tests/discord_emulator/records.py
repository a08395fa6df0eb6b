"""What the emulator remembers: every request the bot made and every interaction a test started."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BODY = web.RequestKey("body", object)
FILES = web.RequestKey("files", dict)
EPHEMERAL = 1 << 6
CONTENT_CALLBACKS = {4, 7, 8, 9}
"""Callback types that carry an answer: message, update message, autocomplete result, modal."""


@dataclass
class RecordedRequest:
    """One HTTP request the bot sent, with its JSON body and any uploaded files."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Reply:
    """One thing the bot answered to an interaction: the callback, a follow-up or an edit of the original."""

    kind: str
    """"callback", "followup" or "edit"."""
    callback_type: int | None
    data: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees it."""
        return bool(int(self.data.get("flags") or 0) & EPHEMERAL)

    @property
    def content(self) -> str:
        """The plain text of the message, or ''."""
        return self.data.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds of the message."""
        return self.data.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The component rows of the message."""
        return self.data.get("components") or []

    def text(self) -> str:
        """Content and every embed's visible text, joined, for assertions that do not care where text sits."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for embed_field in embed.get("fields") or []:
                parts += [embed_field.get("name") or "", embed_field.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)

    def custom_ids(self) -> list[str]:
        """The custom ids of every button and select in the message."""
        return [
            item["custom_id"] for row in self.components for item in row.get("components", []) if "custom_id" in item
        ]


@dataclass
class InteractionHandle:
    """An interaction a test dispatched; `replies` fills as the bot answers."""

    id: int
    token: str
    payload: dict[str, Any]
    replies: list[Reply] = field(default_factory=list)
    original_id: int | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, reply: Reply) -> None:
        """Record an answer and wake whoever waits."""
        self.replies.append(reply)
        self.changed.set()

    @property
    def answers(self) -> list[Reply]:
        """Replies that carry content (not bare defers)."""
        return [r for r in self.replies if r.kind != "callback" or r.callback_type in CONTENT_CALLBACKS]

    async def wait_answers(self, count: int = 1, within: float = 10.0) -> list[Reply]:
        """Wait until the bot has answered with at least `count` content-bearing replies."""
        async with asyncio.timeout(within):
            while len(self.answers) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.answers

    async def answer(self, within: float = 10.0) -> Reply:
        """The first content-bearing reply."""
        return (await self.wait_answers(1, within))[0]

    async def until(self, predicate: Callable[[Reply], bool], within: float = 10.0) -> Reply:
        """The first content-bearing reply that satisfies `predicate`, waiting for it."""
        async with asyncio.timeout(within):
            while True:
                found = [reply for reply in self.answers if predicate(reply)]
                if found:
                    return found[0]
                self.changed.clear()
                await self.changed.wait()

    async def final(self, settle: float = 0.05, within: float = 10.0) -> Reply:
        """The last content-bearing reply, once the bot has been quiet for `settle` seconds."""
        await self.wait_answers(1, within)
        async with asyncio.timeout(within):
            while True:
                self.changed.clear()
                try:
                    await asyncio.wait_for(self.changed.wait(), settle)
                except TimeoutError:
                    return self.answers[-1]
