"""Every table the migrations own, so autogenerate and the schema test see the whole database."""

from __future__ import annotations

from sqlalchemy import MetaData

from bot.store import guild_settings  # noqa: F401  (registers the Discord settings tables on Base.metadata)
from bot.store.tables import Base


def schema_metadata() -> MetaData:
    """The one MetaData that holds the store's tables and the Discord settings tables."""
    return Base.metadata
