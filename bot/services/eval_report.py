"""`waifu-bot eval --report DIR`: the evaluation as files a person looks at (JSON, confusion matrix, bar chart).

matplotlib is an optional dependency (the `report` extra); without it the command says how to install it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import UserFacingError

if TYPE_CHECKING:
    from bot.services.evaluation import EvalReport

NO_ANSWER = "(none)"


def confusion_matrix(report: EvalReport) -> tuple[list[str], list[list[int]]]:
    """The characters in report order and counts[true][predicted]; a last column for no answer when any."""
    names = [score.name for score in report.per_character]
    columns = names + ([NO_ANSWER] if any(guess not in names for _, guess, _ in report.predictions) else [])
    counts = [[0] * len(columns) for _ in names]
    for truth, guess, count in report.predictions:
        if truth in names:
            counts[names.index(truth)][columns.index(guess) if guess in names else len(columns) - 1] += count
    return columns, counts


def write_report(report: EvalReport, directory: Path) -> list[Path]:
    """Write report.json, confusion.png and per_character.png into `directory`; returns the paths written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError as error:
        raise UserFacingError('--report draws with matplotlib: pip install -e ".[report]"') from error
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "report.json"]
    written[0].write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    columns, counts = confusion_matrix(report)
    rows = [score.name for score in report.per_character]
    size = max(4.0, 0.5 * len(columns) + 2)
    figure, axes = pyplot.subplots(figsize=(size + 1, size))
    image = axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("answered (top 1)")
    axes.set_ylabel("true character")
    axes.set_title(f"top-1 {report.top1:.3f} over {report.queries} queries")
    top = max((max(row) for row in counts), default=0)
    for y, row in enumerate(counts):
        for x, count in enumerate(row):
            if count:
                axes.text(x, y, str(count), ha="center", va="center", color="white" if count > top / 2 else "black")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    written.append(directory / "confusion.png")
    figure.savefig(written[-1], dpi=110)
    pyplot.close(figure)

    figure, axes = pyplot.subplots(figsize=(max(5.0, 0.6 * len(rows) + 2), 4))
    positions = range(len(rows))
    width = 0.4
    axes.bar([p - width / 2 for p in positions], [s.top1 for s in report.per_character], width, label="top-1")
    axes.bar([p + width / 2 for p in positions], [s.f1 for s in report.per_character], width, label="F1")
    axes.set_xticks(list(positions), rows, rotation=45, ha="right")
    axes.set_ylim(0, 1)
    axes.legend()
    axes.set_title("per character")
    figure.tight_layout()
    written.append(directory / "per_character.png")
    figure.savefig(written[-1], dpi=110)
    pyplot.close(figure)
    return written
