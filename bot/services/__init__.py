"""What a client calls: the CLI and the Discord cogs use the same services, so neither holds logic.

identify, whynot, enrollment (with duplicates), importing, review, characters, names (search and
suggestions), references (pictures and thumbnails), reindex, evaluation, gallery loading, guild
settings and the demo. A service takes plain values and returns result dataclasses (`results`);
it may use the store, the analyzer and the gallery, never Discord.
"""
