"""The house: app wiring (`app`), settings (`config`) and the one error tree (`errors`), then its rooms.

`services/` (what clients call), `recognition/` (pure ranking maths), `inference/` (where analysis runs),
`store/` (the database), `cli/` (the command line) and `discord_adapter/` (the Discord client). Only
`discord_adapter/` (with `cogs/`) imports `discord`; `tests/test_layout.py` keeps every room's rule.
"""
