"""Engine factories for pool tests: the real engine, plus payloads that crash, hang or dawdle in the worker.

They are top-level so the spawn start method can import them in a worker by reference.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.config import Settings
from bot.inference.engine import RecognitionEngine, build_recognition_engine
from bot.recognition.analysis import ImageAnalysis, InferenceJob

CRASH = b"CRASH"
"""Payload that kills the worker process outright, as a segfault or an OOM kill would."""
HANG = b"HANG"
"""Payload that blocks the worker for a minute, as a pathological decode would."""
HOG = b"HOG"
"""Payload that asks for 8 GB at once, as a hostile decode would."""
BURN = b"BURN"
"""Payload that spins the processor for a minute in Python code, as a pathological resize would."""
SLOW = b"SLOW:"
"""`SLOW:<seconds>:<image bytes>`: sleep, then analyse the image normally."""
GATED = b"GATED:"
"""`GATED:<path>|<image bytes>`: wait (at most a minute) until the file `path` exists, then analyse the image.

A test opens the gate when it has seen what it waited for, so "still busy at that moment" needs no timing guess.
"""


def slow_job(seconds: float, image: bytes) -> InferenceJob:
    """A job that keeps a worker busy for `seconds` before analysing `image`."""
    return InferenceJob(image=SLOW + f"{seconds}:".encode() + image)


def gated_job(gate: Path, image: bytes) -> InferenceJob:
    """A job that keeps a worker busy until the file `gate` exists, then analyses `image`."""
    return InferenceJob(image=GATED + os.fsencode(gate) + b"|" + image)


class MagicEngine:
    """The real recognition engine behind a few test-only payloads."""

    def __init__(self, engine: RecognitionEngine) -> None:
        self.engine = engine

    def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Crash, hang or sleep on the magic payloads; otherwise analyse as production does."""
        if job.image.startswith(CRASH):
            os._exit(3)
        if job.image.startswith(HANG):
            time.sleep(60)
        if job.image.startswith(HOG):
            hoard = bytearray(8 * 1024**3)
            return self.engine.analyze(InferenceJob(image=bytes(hoard[:0])))
        if job.image.startswith(BURN):
            spin_until = time.monotonic() + 60
            while time.monotonic() < spin_until:
                pass
        if job.image.startswith(GATED):
            gate, image = job.image[len(GATED) :].split(b"|", 1)
            give_up = time.monotonic() + 60
            while not os.path.exists(os.fsdecode(gate)) and time.monotonic() < give_up:
                time.sleep(0.005)
            job = InferenceJob(image=image, detect_faces=job.detect_faces)
        if job.image.startswith(SLOW):
            seconds, image = job.image[len(SLOW) :].split(b":", 1)
            time.sleep(float(seconds))
            job = InferenceJob(image=image, detect_faces=job.detect_faces)
        return self.engine.analyze(job)


def magic_engine(settings: Settings) -> MagicEngine:
    """Engine factory for the pool: the production engine wrapped with the magic payloads."""
    return MagicEngine(build_recognition_engine(settings))


def dies_once_at_start(settings: Settings) -> MagicEngine:
    """Engine factory whose second worker to start (once per data dir) dies while loading, as an OOM kill would."""
    marks = settings.data_dir / "start-marks"
    marks.mkdir(parents=True, exist_ok=True)
    try:
        (marks / "first").open("x").close()
    except FileExistsError:
        try:
            (marks / "died").open("x").close()
        except FileExistsError:
            pass
        else:
            os._exit(5)
    return magic_engine(settings)


def stalls_once_at_start(settings: Settings) -> MagicEngine:
    """Engine factory whose first worker to start (once per data dir) leaves its pid in `start-marks/stalled` and
    then loads for a minute, so a test can kill it in the middle of start-up."""
    marks = settings.data_dir / "start-marks"
    marks.mkdir(parents=True, exist_ok=True)
    try:
        (marks / "claimed").open("x").close()
    except FileExistsError:
        return magic_engine(settings)
    (marks / "stalling").write_text(str(os.getpid()))
    (marks / "stalling").rename(marks / "stalled")  # the pid is written whole before the test can read it
    time.sleep(60)
    return magic_engine(settings)


class GatedEngine(MagicEngine):
    """Holds every face-detecting job (identify, whynot) until `gate-open` appears in the data dir; warm-up and
    references (no face split) pass at once. A queue can then be filled and inspected while nothing finishes."""

    def __init__(self, engine: RecognitionEngine, gate: Path) -> None:
        super().__init__(engine)
        self.gate = gate

    def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Wait for the gate (a minute at most, a hang guard), then analyse."""
        give_up = time.monotonic() + 60
        while job.detect_faces and not self.gate.exists() and time.monotonic() < give_up:
            time.sleep(0.01)
        return super().analyze(job)


def gated_engine(settings: Settings) -> GatedEngine:
    """Engine factory for the pool: the magic engine behind the `gate-open` file of the data dir."""
    return GatedEngine(build_recognition_engine(settings), settings.data_dir / "gate-open")
