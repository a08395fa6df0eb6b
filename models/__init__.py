"""Pixels in, numbers out: image intake, model cards, downloads, preprocessing and ONNX sessions.

Nothing here knows about Discord, the database or characters; `bot/` composes these pieces.
"""
