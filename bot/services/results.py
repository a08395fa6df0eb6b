"""What the services return: frozen dataclasses of plain values, rendered by the CLI and the cogs alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.recognition.analysis import Box
from bot.recognition.ranking import TagEvidence
from bot.store.records import CharacterRecord, ReferenceRecord

# The store's plain records travel in results; clients (the cogs) take them from here, never from the store.
__all__ = [
    "CharacterRecord",
    "EnrollmentResult",
    "Evidence",
    "IdentifyResult",
    "ImportSummary",
    "Match",
    "ReferenceRecord",
    "RegionResult",
    "WhyNotResult",
]


@dataclass(frozen=True)
class Match:
    """One candidate character for a region; `source` says whether the gallery or the model named it.

    A "model" match comes from the tagger's own character tag: `confidence` is its probability,
    `distance` is 1 - probability, and `character_id` is None unless an enrolled character has that name.
    """

    character_id: int | None
    character: str
    series: str | None
    distance: float
    confidence: float
    source: Literal["gallery", "model"] = "gallery"
    model_probability: float | None = None
    """The tagger's probability for this character's tag, when the tagger named it too."""


@dataclass(frozen=True)
class RegionResult:
    """The matches of one region (a face, or the whole picture when `box` is None)."""

    box: Box | None
    matches: tuple[Match, ...]
    unknown: bool


@dataclass(frozen=True)
class IdentifyResult:
    """Who is in the picture, region by region, plus facts about the picture worth telling."""

    regions: tuple[RegionResult, ...]
    tagger: str = ""
    rating: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


Evidence = TagEvidence
"""One tag's value in the image, in the character's profile and (when contrasting) in the rival's."""


@dataclass(frozen=True)
class WhyNotResult:
    """Why a picture was (or was not) matched to a character: its rank, distance and the tag evidence."""

    character: str
    character_id: int
    rank: int
    candidates: int
    distance: float
    confidence: float
    best_match: str
    best_distance: float
    evidence: tuple[Evidence, ...]
    box: Box | None = None
    measure: Literal["tags", "embedding"] = "tags"
    """What `distance` measures: the CCIP best-k difference ("embedding") or the tag-profile distance."""
    tag_distance: float | None = None
    """The tag-profile distance, which the evidence explains, whatever the measure."""
    compared_with: str | None = None
    """The character the evidence contrasts with: the best match, or the runner-up when this one leads."""
    block_shares: tuple[tuple[str, float], ...] = ()
    """With the fitted block metric: each block's share ("face colours", ...) of distance(rival) - distance;
    the shares add up to that gap."""
    rating: str | None = None
    """The picture's own rating (a tagger with ratings), so a card reposts it only where it may be shown."""

    @property
    def supporting(self) -> tuple[Evidence, ...]:
        """Evidence for the character, strongest first."""
        return tuple(sorted((e for e in self.evidence if e.weight > 0), key=lambda e: -e.weight))

    @property
    def opposing(self) -> tuple[Evidence, ...]:
        """Evidence against the character, strongest first."""
        return tuple(sorted((e for e in self.evidence if e.weight < 0), key=lambda e: e.weight))


@dataclass(frozen=True)
class EnrollmentResult:
    """A reference that was stored (pending or approved) and the character it belongs to."""

    character: CharacterRecord
    reference: ReferenceRecord
    created_character: bool = False
    close_to: tuple[CharacterRecord, ...] = ()
    """For a submission that created a character: the shown characters its name is close to ("did you mean")."""


@dataclass(frozen=True)
class ImportSummary:
    """What a bulk import did: how much it enrolled, and each skipped file as "path: why" for the operator."""

    characters: int
    """Character folders in the dataset."""
    imported: int
    """References enrolled (approved)."""
    duplicates: tuple[str, ...] = ()
    """Files skipped as near-duplicates of a stored reference (or of an earlier file of the import)."""
    rejected: tuple[str, ...] = ()
    """Files skipped as no usable picture."""
    weak: tuple[str, ...] = ()
    """Files with quality warnings (monochrome, small, no face) as "path: warnings"; imported unless `strict`."""
    strict: bool = False
    """Whether the weak files were skipped (`import --strict`) rather than imported."""

    @property
    def skipped(self) -> tuple[str, ...]:
        """Every skipped file, duplicates first, in folder order within each kind (weak ones under --strict)."""
        return self.duplicates + self.rejected + (self.weak if self.strict else ())
