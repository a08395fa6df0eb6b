"""Discord's own checks on what a bot sends: embed size limits and faults a test asks for (401, 403, 429...).

Discord answers a message over its embed limits with 400 "Invalid Form Body"; the emulator does the same,
so a bot that renders something too long fails here as it would in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EMBED_TOTAL = 6000
"""All titles, descriptions, field names and values, footers and author names of one message together."""
LIMITS = {"title": 256, "description": 4096, "field name": 256, "field value": 1024, "footer": 2048, "author": 256}
MAX_FIELDS = 25
MAX_EMBEDS = 10
CONTENT_LIMIT = 2000
UPLOAD_LIMIT = 10 * 1024 * 1024
"""Largest file a bot may upload to a guild without boosts (discord.py's DEFAULT_FILE_SIZE_LIMIT_BYTES)."""


def embed_problems(embeds: list[dict[str, Any]] | None) -> list[str]:
    """What Discord would refuse in these embeds (empty when they are fine)."""
    problems: list[str] = []
    embeds = embeds or []
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"{len(embeds)} embeds > {MAX_EMBEDS}")
    total = 0
    for position, embed in enumerate(embeds):
        fields = embed.get("fields") or []
        if len(fields) > MAX_FIELDS:
            problems.append(f"embed {position}: {len(fields)} fields > {MAX_FIELDS}")
        texts = [("title", embed.get("title")), ("description", embed.get("description"))]
        texts.append(("footer", (embed.get("footer") or {}).get("text")))
        texts.append(("author", (embed.get("author") or {}).get("name")))
        for item in fields:
            texts += [("field name", item.get("name")), ("field value", item.get("value"))]
            if not item.get("name") or not item.get("value"):
                problems.append(f"embed {position}: a field with an empty name or value")
        for kind, text in texts:
            length = len(text or "")
            total += length
            if length > LIMITS[kind]:
                problems.append(f"embed {position}: {kind} of {length} characters > {LIMITS[kind]}")
    if total > EMBED_TOTAL:
        problems.append(f"embeds total {total} characters > {EMBED_TOTAL}")
    return problems


@dataclass
class Fault:
    """Answer the next `times` requests matching method and path prefix with this status and body."""

    method: str
    prefix: str
    status: int
    body: dict[str, Any]
    times: int = 1
    headers: dict[str, str] | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (path after /api/v10)."""
        return self.times > 0 and method == self.method and path.startswith(self.prefix)
