"""The in-process analyzer: one engine in this process, run in a thread so the event loop stays free."""

from __future__ import annotations

import asyncio

from bot.inference.engine import RecognitionEngine
from bot.recognition.analysis import ImageAnalysis, InferenceJob


class LocalAnalyzer:
    """The in-process `Analyzer`: the engine runs in a thread so the event loop never blocks on a model."""

    def __init__(self, engine: RecognitionEngine) -> None:
        self.engine = engine

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Analyse one image off the event loop."""
        return await asyncio.to_thread(self.engine.analyze, job)

    async def close(self) -> None:
        """Nothing to release: the session is freed with the engine."""
