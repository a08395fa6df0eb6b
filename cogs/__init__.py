"""Discord-facing commands only: parse the interaction, call one service, render the result."""
