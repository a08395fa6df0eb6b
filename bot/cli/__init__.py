"""The `waifu-bot` command line: one module per command, each exposing `add_parser(subparsers)`."""
