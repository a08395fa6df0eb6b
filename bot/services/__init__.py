"""Recognition services shared by the CLI and the Discord cogs: identify, whynot, enrollment."""
