"""What one hostile file costs: seconds and peak memory of analysing it, each case in a fresh process.

Run from the repository root: `.venv/bin/python -m benchmarks.hostile_cost` (about a minute). The cases are the
availability items of issue 13: a 1 x 40,000,000 strip and its transpose (item 1), TIFFs with 20,000 and
200,000 image directories (item 2), a 1 GB file given to `identify` and a folder of 20 MB files given to
`import` (item 4). A case still running after `--timeout` seconds is reported as such.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability.hostile import many_ifd_tiff, sparse_file, strip_png

ENGINE_CASE = """
import json, resource, sys, time
from pathlib import Path
from bot.config import PoolSettings, Settings
from bot.inference.engine import build_recognition_engine
from bot.recognition.analysis import InferenceJob
from models.errors import ImageRejected
settings = Settings(data_dir=Path(sys.argv[1]), tagger="palette", pool=PoolSettings(workers=0), _env_file=None)
engine = build_recognition_engine(settings)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = Path(sys.argv[2]).read_bytes()
started = time.perf_counter()
try:
    engine.analyze(InferenceJob(image=data))
    outcome = "analysed"
except ImageRejected as error:
    outcome = "refused: " + error.reason
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_growth_mb": (peak - before) / 1024, "outcome": outcome}))
"""


def run_case(arguments: list[str], timeout: float) -> dict[str, object]:
    """Run one case in a child; the child's own report, or its wall time and peak RSS from outside."""
    started = time.perf_counter()
    try:
        done = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"outcome": f"still running after {timeout:.0f} s"}
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if lines:
        return json.loads(lines[-1])
    return {"seconds": seconds, "exit": done.returncode, "stderr": done.stderr.strip().splitlines()[-1:]}


def measured_cli(arguments: list[str], timeout: float) -> dict[str, object]:
    """A CLI command's wall time and peak RSS of the process tree's largest child."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:], capture_output=True).returncode\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'peak_rss_mb': peak, 'exit': rc}))\n"
    )
    return run_case([sys.executable, "-c", code, *arguments], timeout)


def main() -> None:
    """Build the files, measure every case, print one JSON line per case."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="waifu-hostile-") as scratch:
        root = Path(scratch)
        data_dir = root / "data"
        files = {
            "strip 1x40M": strip_png(1, 40_000_000),
            "strip 40Mx1": strip_png(40_000_000, 1),
            "tiff 20k IFDs": many_ifd_tiff(20_000),
            "tiff 200k IFDs": many_ifd_tiff(200_000),
        }
        for name, data in files.items():
            path = root / (name.replace(" ", "_") + (".tif" if "tiff" in name else ".png"))
            path.write_bytes(data)
            result = run_case([sys.executable, "-c", ENGINE_CASE, str(data_dir), str(path)], args.timeout)
            print(json.dumps({"case": name, "bytes": len(data), **result}), flush=True)
        cli = [sys.executable, "-m", "bot.cli.main", "--data-dir", str(data_dir), "--tagger", "palette"]
        huge = sparse_file(root / "huge.png", 1_000_000_000)
        result = measured_cli([*cli, "--workers", "0", "identify", str(huge)], args.timeout)
        print(json.dumps({"case": "identify 1 GB file", **result}), flush=True)
        folder = root / "dataset" / "someone"
        folder.mkdir(parents=True)
        for index in range(40):
            sparse_file(folder / f"{index:02d}.png", 20_000_000)
        result = measured_cli([*cli, "--workers", "0", "import", str(root / "dataset")], args.timeout)
        print(json.dumps({"case": "import 40 x 20 MB", **result}), flush=True)


if __name__ == "__main__":
    main()
