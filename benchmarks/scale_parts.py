"""The other scale benchmarks run as parts of `benchmarks.gallery_scale --all`, each in its own process.

Why a process each: a figure such as peak RSS belongs to one gallery, and a second gallery built in the same
process would inherit the first one's peak. Each part prints one JSON value (its `--json`), read back here.
"""

from __future__ import annotations

import json
import subprocess
import sys


def print_rows(rows: list[dict], *, as_json: bool) -> None:
    """A benchmark's rows (one dict per size) as JSON, or as a `|`-separated table with a header line."""
    if as_json:
        print(json.dumps(rows))
        return
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[column]) for column in columns))


def run_part(module: str, *arguments: str) -> object:
    """Run `python -m benchmarks.<module> <arguments> --json` and return the JSON it printed last."""
    command = [sys.executable, "-m", f"benchmarks.{module}", *arguments, "--json"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({finished.returncode}): {finished.stderr[-2000:]}")
    output = finished.stdout.strip()
    try:
        return json.loads(output)
    except json.JSONDecodeError:  # progress lines ("built ... in 20 s") come before a one-line object
        return json.loads(output.splitlines()[-1])


def all_parts(tag_sizes: list[int], embedding_rows: list[int], duplicate_store: int) -> dict[str, object]:
    """Every figure the issue asks of the gallery at scale, one key per path (see benchmarks/README.md)."""
    return {
        "load_from_sqlite": [run_part("gallery_load", "--characters", str(size)) for size in tag_sizes],
        "load_with_embeddings": run_part("gallery_load", "--characters", str(max(tag_sizes)), "--embeddings"),
        "embedding_path": run_part("embedding_scale", "--rows", ",".join(map(str, embedding_rows))),
        "duplicates": run_part("duplicate_lookup", "--store", str(duplicate_store)),
    }
