"""Settings, read once from the environment (prefix `WAIFU_`, nested sections joined with `__`).

Why pydantic-settings: every knob is typed, documented in one place, and testable by constructing
`Settings(...)` directly instead of patching the environment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where the database, reference images and generated models live unless told otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "waifu-bot"


class ImageLimits(BaseModel):
    """Caps applied before any pixel is decoded, so a hostile file cannot exhaust memory."""

    max_pixels: int = Field(40_000_000, description="Largest width*height accepted (decompression-bomb cap).")
    max_bytes: int = Field(25 * 1024 * 1024, description="Largest file accepted, in bytes.")


class OnnxSettings(BaseModel):
    """How ONNX sessions are created; threads default to cores split across pool workers."""

    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"])
    intra_op_threads: int | None = Field(None, description="None: cores // pool workers (at least 1).")
    inter_op_threads: int = 1


class RecognitionSettings(BaseModel):
    """Thresholds of the matcher; None means the model's own calibrated value."""

    top_k: int = 3
    unknown_distance: float | None = None
    duplicate_hash_distance: int = Field(4, description="Perceptual-hash Hamming distance that counts as a duplicate.")
    ccip: bool = Field(False, description="Use the CCIP character embedding (files from `waifu-bot models pull`).")
    embedder: str = Field("ccip-caformer-24-randaug-pruned", description="Model card of the character embedder.")
    face_detection: bool = Field(False, description="Detect faces and identify each face on its own.")
    detector: str = Field("face_detect_v1.4_s", description="Model card of the face detector.")
    tag_mcut: bool = Field(
        False,
        description="WD taggers: cut tags per picture by MCut (characters at least the card's 0.15), as SmilingWolf's "
        "reference offers, instead of the card's fixed 0.35 (general) and 0.85 (character).",
    )
    feature_blocks: bool = Field(
        True, description="Add the bundled CNN and (with the `faces` extra) face/head palette blocks to the tags."
    )
    block_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "tags": 1.0,
            "palette_face": 1.0,
            "palette_head": 1.0,
            "cnn_whole": 0.5,
            "cnn_head": 3.0,
        },
        description="Weight of each feature block in the fitted distance (issue 14's measured defaults).",
    )
    shrinkage: float = Field(
        0.5, ge=0, le=1, description="Share of the scaled identity in each block's whitening covariance."
    )
    ann_min_rows: int | None = Field(
        50_000,
        ge=1,
        description="CCIP embedding rows from which an approximate (faiss, extra `scale`) shortlist proposes "
        "characters that the metric re-ranks; below, and without faiss, the search is exact. None: always exact.",
    )
    refresh_seconds: float = Field(
        30.0,
        ge=0,
        description="How often the bot reloads characters other processes changed (CLI, a second bot); 0: never.",
    )


class PoolSettings(BaseModel):
    """The inference process pool."""

    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Worker processes for inference (default: one per core); 0 runs inference in-process.",
    )
    one_shot_max: int = Field(
        4,
        ge=0,
        description="A CLI command on at most this many pictures analyses them in-process instead of starting workers.",
    )
    max_in_flight: int = Field(
        256,
        ge=1,
        description="Hard cap on jobs queued or running (they hold their bytes); below it, max_wait decides 'busy'.",
    )
    max_wait: float = Field(
        10.0, gt=0, description="Expected queue wait (seconds, from recent job times) beyond which callers get 'busy'."
    )
    max_queued_per_owner: int = Field(
        8, ge=1, description="Jobs one submitter (a Discord user) may have queued or running at once."
    )
    job_memory_mb: int | None = Field(
        1024,
        ge=64,
        description="Address space (MB) a worker may add beyond its loaded models (RLIMIT_AS); None: no cap.",
    )
    job_cpu_seconds: float | None = Field(
        30.0, gt=0, description="CPU seconds (all threads) one job may use in a worker (RLIMIT_CPU); None: no cap."
    )
    job_timeout: float = Field(30.0, description="Seconds before a job is abandoned.")
    shutdown_deadline: float = Field(10.0, description="Seconds to drain in-flight jobs on shutdown.")


class EnrollmentSettings(BaseModel):
    """The policy for members' submissions, whichever client they come from."""

    submissions_per_hour: int = Field(10, description="Pictures one member may submit per hour (at least 1).")


class DiscordSettings(BaseModel):
    """The Discord client; the token comes from DISCORD_TOKEN (see `Settings.discord_token`)."""

    test_guild_id: int | None = Field(None, description="Sync commands to this guild only (instant), else globally.")
    owner_ids: list[int] = Field(default_factory=list)
    identify_per_minute: int = Field(
        6, ge=1, description="Pictures one person may have identified or explained per minute (inference is shared)."
    )
    notify_submitter: bool = True


class Settings(BaseSettings):
    """All configuration of one bot or CLI process."""

    model_config = SettingsConfigDict(env_prefix="WAIFU_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(None, description="SQLAlchemy async URL; default: SQLite under data_dir.")
    tagger: str = Field("palette", description="Name of the tagger model card to use.")
    model_cache_dir: Path | None = Field(None, description="Default: the Hugging Face cache.")
    images: ImageLimits = Field(default_factory=ImageLimits)
    onnx: OnnxSettings = Field(default_factory=OnnxSettings)
    recognition: RecognitionSettings = Field(default_factory=RecognitionSettings)
    pool: PoolSettings = Field(default_factory=PoolSettings)
    enrollment: EnrollmentSettings = Field(default_factory=EnrollmentSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    discord_token: SecretStr | None = Field(
        None, validation_alias="DISCORD_TOKEN", description="Bot token; never logged."
    )
    log_level: str = "INFO"
    start_empty: bool = Field(
        False,
        description="Accept an empty (0-byte) database file beside stored reference pictures and start a new gallery.",
    )

    @model_validator(mode="before")
    @classmethod
    def _submissions_per_hour_moved(cls, data: Any) -> Any:
        """Still read the old WAIFU_DISCORD__SUBMISSIONS_PER_HOUR (now under enrollment), with a warning."""
        if not isinstance(data, dict) or not isinstance(data.get("discord"), dict):
            return data
        discord = dict(data["discord"])
        if "submissions_per_hour" not in discord:
            return data
        old = discord.pop("submissions_per_hour")
        log.warning(
            "WAIFU_DISCORD__SUBMISSIONS_PER_HOUR is deprecated: set WAIFU_ENROLLMENT__SUBMISSIONS_PER_HOUR instead"
        )
        enrollment = data.get("enrollment") or {}
        if isinstance(enrollment, dict) and "submissions_per_hour" not in enrollment:
            enrollment = {**enrollment, "submissions_per_hour": old}
        return {**data, "discord": discord, "enrollment": enrollment}

    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_a_folder(cls, data_dir: Path) -> Path:
        """Refuse a file up front: every command would otherwise fail deep inside with NotADirectoryError."""
        if data_dir.exists() and not data_dir.is_dir():
            raise ValueError(f"{data_dir} is a file, not a folder")
        return data_dir

    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'waifu.sqlite3').resolve()}"

    @property
    def reference_dir(self) -> Path:
        """Where submitted and approved reference images are kept (by content hash)."""
        return self.data_dir / "references"

    @property
    def generated_model_dir(self) -> Path:
        """Where models the project builds itself (the palette tagger) are written."""
        return self.data_dir / "models"

    def intra_op_threads(self) -> int:
        """Threads per ONNX session so that workers x threads fits the cores."""
        if self.onnx.intra_op_threads:
            return self.onnx.intra_op_threads
        cores = os.cpu_count() or 1
        return max(1, cores // max(1, self.pool.workers))
