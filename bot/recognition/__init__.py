"""The recognition room: analyses in, rankings and evidence out.

`analysis` is the contract with inference (what a worker sends back); `vocabulary` picks the tag
dimensions that describe a character; `profile` is the maths of a character's tag profile;
`embedding` scores characters from CCIP differences; `ranking` orders characters for one query;
`gallery` is the in-memory index of approved references; `identity` is the one rule for which
models' vectors compare; `tagger_characters` reads the characters a WD tagger names by itself.
Pure numpy: nothing here reads files, the database or Discord.
"""
