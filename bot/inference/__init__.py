"""Where inference runs: in-process for small jobs and tests, or in a process pool for the bot and bulk CLI work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import PoolSettings, Settings
from bot.errors import UsageError
from bot.inference.pool import InferencePool, PoolClosed
from bot.inference.shutdown import install_stop_signals
from bot.inference.stats import PoolHealth
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob

if TYPE_CHECKING:
    import numpy as np

    from bot.recognition.embedding import EmbeddingMetric

__all__ = [
    "InferencePool",
    "NoAnalysis",
    "PoolClosed",
    "PoolHealth",
    "create_analyzer",
    "identity_only_metric",
    "in_process",
    "install_stop_signals",
    "uses_pool",
]


class NoAnalysis:
    """The analyzer of a command that only reads the store (`characters`, `promote`): it loads no model."""

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Refuse: this command was opened without an analyzer."""
        raise UsageError("this command does not analyse pictures.")

    async def close(self) -> None:
        """Nothing to release."""


class _IdentityOnlyMetric:
    """An embedder's identity without its session: enough to choose which stored vectors count, not to compare."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.threshold = float("nan")

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        """Refuse: comparing needs the real metric (`open_embedding_metric`)."""
        raise UsageError("this command does not compare pictures.")


def identity_only_metric(settings: Settings) -> EmbeddingMetric | None:
    """For commands that analyse nothing: the configured embedder's identity (None when CCIP is off), no model."""
    from bot.inference.model_choice import embedder_identity

    identity = embedder_identity(settings)
    return None if identity is None else _IdentityOnlyMetric(identity)


def create_analyzer(settings: Settings, *, pictures: int | None = None) -> Analyzer:
    """The pool when `settings.pool.workers > 0` and the work is a batch, else the engine in this process.

    `pictures` is how many pictures the caller will analyse (None: the bot, or a batch of unknown size).
    Up to `pool.one_shot_max` of them cost less in-process than starting workers that each load the models.
    """
    if uses_pool(settings, pictures=pictures):
        return InferencePool(settings)
    from bot.inference.engine import build_recognition_engine
    from bot.inference.local import LocalAnalyzer  # imported late: the engine pulls in the models

    return LocalAnalyzer(build_recognition_engine(in_process(settings)))


def uses_pool(settings: Settings, *, pictures: int | None = None) -> bool:
    """Whether `create_analyzer` starts workers for this much work (a caller may say so before it waits)."""
    one_shot = pictures is not None and pictures <= settings.pool.one_shot_max
    return settings.pool.workers > 0 and not one_shot


def in_process(settings: Settings) -> Settings:
    """The settings with no workers, so in-process ONNX sessions get every core's thread."""
    if settings.pool.workers == 0:
        return settings
    pool = PoolSettings.model_validate({**settings.pool.model_dump(), "workers": 0})
    return settings.model_copy(update={"pool": pool})
