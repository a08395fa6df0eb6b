"""The character store: SQLAlchemy 2 async tables, Alembic-owned schema, and a repository over them.

Callers get plain dataclasses from `bot.store.records`, never ORM objects.
"""
