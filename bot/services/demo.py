"""`waifu-bot demo`: the product answering on a fresh machine, with nothing downloaded.

It draws a small cast of invented characters with the project's own drawing code, imports their
pictures into a throwaway data directory (exactly as `waifu-bot import` would), then identifies a
picture of each that the gallery has never seen and explains one answer with `whynot`. The user's
own gallery is never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.app import open_services
from bot.config import PoolSettings, Settings
from bot.services.drawn_characters import DEMO_CAST, DEMO_SERIES, CastMember, draw_character, encode
from bot.services.evaluation import list_dataset
from bot.services.importing import import_dataset
from bot.services.results import IdentifyResult, ImportSummary, WhyNotResult

REFERENCES_PER_CHARACTER = 6
HELD_OUT_SEED = 1000
"""Seeds of the held-out pictures start here, far from the references' seeds, so no picture repeats."""


@dataclass(frozen=True)
class DemoAnswer:
    """What the bot said about one held-out picture of a cast member."""

    member: CastMember
    picture: Path
    result: IdentifyResult

    @property
    def correct(self) -> bool:
        """Whether the best match of the (only) region is the member who was drawn."""
        region = self.result.regions[0]
        return not region.unknown and bool(region.matches) and region.matches[0].character == self.member.name


@dataclass(frozen=True)
class DemoRun:
    """Everything the demo did, for the CLI to print."""

    pictures: Path
    imported: ImportSummary
    answers: tuple[DemoAnswer, ...]
    explained: WhyNotResult
    seconds: float


def demo_settings(settings: Settings, workdir: Path) -> Settings:
    """The user's settings pointed at a throwaway data dir: the offline palette tagger, analysis in-process."""
    data_dir = workdir / "data"
    pool = PoolSettings.model_validate({**settings.pool.model_dump(), "workers": 0})
    return settings.model_copy(
        update={"data_dir": data_dir, "database_url": None, "tagger": "palette", "pool": pool, "discord_token": None}
    )


def draw_cast(pictures: Path, held_out: Path, *, references: int = REFERENCES_PER_CHARACTER) -> dict[str, Path]:
    """One folder of references per cast member (as `import` expects) and one unseen picture each."""
    unseen: dict[str, Path] = {}
    held_out.mkdir(parents=True, exist_ok=True)
    for number, member in enumerate(DEMO_CAST):
        folder = pictures / member.folder
        folder.mkdir(parents=True, exist_ok=True)
        for seed in range(references):
            (folder / f"{seed + 1:02d}.png").write_bytes(encode(draw_character(member.design, seed=seed)))
        picture = held_out / f"{member.folder}.png"
        picture.write_bytes(encode(draw_character(member.design, seed=HELD_OUT_SEED + number)))
        unseen[member.name] = picture
    return unseen


async def run_demo(settings: Settings, workdir: Path, *, on_step: Callable[[str], None] = print) -> DemoRun:
    """Draw, import, identify each unseen picture and explain the first one against the second character."""
    started = time.perf_counter()
    pictures, held_out = workdir / "pictures", workdir / "held-out"
    on_step(f"drawing {len(DEMO_CAST)} characters, {REFERENCES_PER_CHARACTER} pictures each, in {pictures}")
    unseen = draw_cast(pictures, held_out)
    on_step("loading the offline palette tagger and a fresh gallery")
    services = await open_services(demo_settings(settings, workdir))
    try:
        on_step("importing the pictures as approved references")
        imported = await import_dataset(services.enrollment, list_dataset(pictures), series=DEMO_SERIES)
        on_step("identifying one new picture of each character")
        answers = []
        for member in DEMO_CAST:
            picture = unseen[member.name]
            result = await services.identify.identify(picture.read_bytes(), top=3)
            answers.append(DemoAnswer(member, picture, result))
        first, second = DEMO_CAST[0], DEMO_CAST[1]
        explained = await services.whynot.whynot(unseen[first.name].read_bytes(), second.name)
    finally:
        await services.close()
    return DemoRun(pictures, imported, tuple(answers), explained, time.perf_counter() - started)
