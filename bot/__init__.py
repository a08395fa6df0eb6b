"""The house: configuration, the character store, the gallery, services, the CLI and the Discord client.

Nothing under `bot/` except `bot/discord_client.py` imports `discord`.
"""
