"""Where inference runs: in-process for small jobs and tests, or in a process pool for the bot and bulk CLI work."""

from __future__ import annotations

from bot.config import Settings
from bot.inference.pool import InferencePool, PoolClosed
from bot.inference.shutdown import install_stop_signals
from bot.inference.stats import PoolHealth
from bot.recognition.analysis import Analyzer

__all__ = ["InferencePool", "PoolClosed", "PoolHealth", "create_analyzer", "install_stop_signals"]


def create_analyzer(settings: Settings) -> Analyzer:
    """The pool when `settings.pool.workers > 0`, else the engine in this process (one choice, made here)."""
    if settings.pool.workers > 0:
        return InferencePool(settings)
    from bot.inference.engine import build_recognition_engine
    from bot.inference.local import LocalAnalyzer  # imported late: the engine pulls in the models

    return LocalAnalyzer(build_recognition_engine(settings))
