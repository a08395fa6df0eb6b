"""The Discord adapter: the client, its error replies and attachment reading.

With `cogs/`, the only code that imports `discord`. Named `discord_adapter`, not `discord`, so it
never shadows the library.
"""
