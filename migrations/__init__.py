"""Alembic migrations of the character store; `bot.store.database` points Alembic at this package."""
