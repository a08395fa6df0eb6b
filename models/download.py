"""Fetch hub models into the Hugging Face cache once, find them there later, and prove they load.

Downloading goes through `huggingface_hub.hf_hub_download`, so it resumes interrupted files, shows
a progress bar, shares the user's cache and honours `HF_HUB_OFFLINE`. Finding a model never touches
the network: a model that is not in the cache is an error naming the command that fetches it,
never a silent switch to another model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants as hub_constants
from huggingface_hub import hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from models.ccip import CcipEmbedder, load_ccip_embedder
from models.errors import ModelUnavailable
from models.face_detector import DEFAULT_CONFIDENCE, DEFAULT_IOU, FaceDetector, load_face_detector
from models.registry import ModelCard, ModelKind, cards_of_kind, get_card
from models.sessions import SessionConfig
from models.tagger import Tagger, load_tagger

log = logging.getLogger(__name__)

VERSION_LENGTH = 12
"""Characters of the snapshot commit kept as the model version (enough to be unique in practice)."""


@dataclass(frozen=True)
class ModelLocation:
    """A model found in the cache: its folder and the exact commit the files came from."""

    card: ModelCard
    directory: Path
    commit: str

    @property
    def version(self) -> str:
        """The snapshot commit, shortened: vectors are tied to it, so an upstream update triggers reindex."""
        return self.commit[:VERSION_LENGTH]

    @property
    def identity(self) -> str:
        """`name@version`, the identity stored with every vector the model produces."""
        return f"{self.card.name}@{self.version}"

    def path(self, filename: str) -> Path:
        """The local path of one of the card's files, by base name."""
        return self.directory / filename


def offline_mode() -> bool:
    """Whether HF_HUB_OFFLINE is set (read by huggingface_hub at import), so pull can say so plainly."""
    return bool(hub_constants.is_offline_mode())


def locate(card: ModelCard, cache_dir: Path | None = None) -> ModelLocation:
    """Where a model's files are in the cache, without any network; ModelUnavailable if absent."""
    directories: set[Path] = set()
    missing: list[str] = []
    for repo_path in card.files:
        cached = try_to_load_from_cache(
            card.repo_id, repo_path, cache_dir=str(cache_dir) if cache_dir else None, revision=card.revision
        )
        if not isinstance(cached, str):
            missing.append(repo_path)
            continue
        directories.add(Path(cached).parent)
    if missing:
        raise ModelUnavailable(
            f"The model {card.name} is not downloaded; run `{card.pull_command}` once and start again.",
            detail=f"{card.repo_id}@{card.revision}: not in the cache {cache_dir or 'default'}: {missing}",
        )
    if len(directories) != 1:
        raise ModelUnavailable(
            f"The model {card.name} is only partly downloaded; run `{card.pull_command}` again.",
            detail=f"files of {card.repo_id} lie in several folders: {sorted(map(str, directories))}",
        )
    directory = directories.pop()
    return ModelLocation(card=card, directory=directory, commit=_snapshot_commit(directory, card))


def is_present(card: ModelCard, cache_dir: Path | None = None) -> bool:
    """Whether every file of the model is in the cache (no loading, no network)."""
    try:
        locate(card, cache_dir)
    except ModelUnavailable:
        return False
    return True


def pull(
    names: Sequence[str],
    cache_dir: Path | None = None,
    *,
    force: bool = False,
    session_config: SessionConfig | None = None,
) -> list[ModelLocation]:
    """Download the named models (resumably, with progress) and prove each one loads."""
    cards = [get_card(name) for name in names]
    locations = []
    for card in cards:
        for repo_path in card.files:
            _download(card, repo_path, cache_dir, force=force)
        location = locate(card, cache_dir)
        verify(location, session_config=session_config)
        log.info("model %s is ready in %s", location.identity, location.directory)
        locations.append(location)
    return locations


def verify(location: ModelLocation, *, session_config: SessionConfig | None = None) -> None:
    """Load the model the way the bot will, so a broken download is found now and not at start-up."""
    try:
        _load(location, session_config or SessionConfig())
    except ModelUnavailable as error:
        raise ModelUnavailable(
            f"The downloaded model {location.card.name} does not load ({error.user_message}); "
            f"run `{location.card.pull_command} --force` to fetch it again.",
            detail=f"{location.directory}: {error}",
        ) from error


def open_embedder(name: str, cache_dir: Path | None, session_config: SessionConfig) -> CcipEmbedder:
    """The CCIP embedder of a card, loaded from the cache with its shipped threshold."""
    location = locate_named(name, ModelKind.EMBEDDER, cache_dir)
    return load_ccip_embedder(
        location.directory, name=location.card.name, version=location.version, session_config=session_config
    )


def open_detector(name: str, cache_dir: Path | None, session_config: SessionConfig) -> FaceDetector:
    """The face detector of a card, loaded from the cache with the card's thresholds."""
    location = locate_named(name, ModelKind.DETECTOR, cache_dir)
    return _load_detector(location, session_config)


def locate_named(name: str, kind: ModelKind, cache_dir: Path | None) -> ModelLocation:
    """A card by name, checked to be of the wanted kind, found in the cache (for resolving a setting)."""
    card = get_card(name)
    if card.kind != kind:
        choices = ", ".join(other.name for other in cards_of_kind(kind))
        raise ModelUnavailable(
            f"The model {name} is a {card.kind} model; for the {kind} choose one of: {choices}.",
            detail=f"{name} has kind {card.kind}, wanted {kind}",
        )
    return locate(card, cache_dir)


def _load(location: ModelLocation, session_config: SessionConfig) -> Tagger | CcipEmbedder | FaceDetector:
    card = location.card
    if card.kind == ModelKind.TAGGER:
        return load_tagger(location.directory, name=card.name, version=location.version, session_config=session_config)
    if card.kind == ModelKind.EMBEDDER:
        return load_ccip_embedder(
            location.directory, name=card.name, version=location.version, session_config=session_config
        )
    return _load_detector(location, session_config)


def _load_detector(location: ModelLocation, session_config: SessionConfig) -> FaceDetector:
    card = location.card
    return load_face_detector(
        location.path(card.filenames[0]),
        name=card.name,
        version=location.version,
        session_config=session_config,
        confidence=card.thresholds.get("confidence", DEFAULT_CONFIDENCE),
        iou=card.thresholds.get("iou", DEFAULT_IOU),
    )


def _download(card: ModelCard, repo_path: str, cache_dir: Path | None, *, force: bool) -> None:
    """One file through huggingface_hub, with its errors turned into what the user should do."""
    try:
        hf_hub_download(
            card.repo_id,
            repo_path,
            revision=card.revision,
            cache_dir=str(cache_dir) if cache_dir else None,
            force_download=force,
        )
    except LocalEntryNotFoundError as error:
        if offline_mode():
            message = (
                f"Cannot download {card.name}: HF_HUB_OFFLINE is set and {repo_path} is not in the cache; "
                f"unset HF_HUB_OFFLINE and run `{card.pull_command}` again."
            )
        else:
            message = (
                f"Cannot reach the Hugging Face hub to download {card.name}; check the connection "
                f"and run `{card.pull_command}` again (it resumes)."
            )
        raise ModelUnavailable(message, detail=f"{card.repo_id}/{repo_path}: {error}") from error
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as error:
        raise ModelUnavailable(
            f"The hub no longer has {repo_path} for {card.name}; update waifu-bot or choose another model.",
            detail=f"{card.repo_id}@{card.revision}/{repo_path}: {error}",
        ) from error
    except (HfHubHTTPError, OSError) as error:
        raise ModelUnavailable(
            f"Downloading {card.name} failed; run `{card.pull_command}` again (it resumes).",
            detail=f"{card.repo_id}/{repo_path}: {error}",
        ) from error


def _snapshot_commit(directory: Path, card: ModelCard) -> str:
    """The commit of the snapshot folder holding the files (the folder above any repo subfolder)."""
    snapshot = directory
    for _ in Path(card.subfolder).parts if card.subfolder else ():
        snapshot = snapshot.parent
    return snapshot.name
