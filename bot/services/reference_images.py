"""Reference image files, stored by content hash so a submission is kept exactly once and never half-written."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from models.intake import sniff_image_type


class ReferenceImages:
    """The folder of submitted and approved pictures, so moderators can see what they review."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def relative_path(self, data: bytes) -> str:
        """Where these bytes live, relative to the root: `ab/<sha256>.<ext>`."""
        digest = hashlib.sha256(data).hexdigest()
        extension = sniff_image_type(data) or "bin"
        return f"{digest[:2]}/{digest}.{extension}"

    def save(self, data: bytes) -> tuple[str, bool]:
        """Write the bytes atomically unless already there; returns (relative path, whether it was new)."""
        relative = self.relative_path(data)
        target = self.root / relative
        if target.is_file():
            return relative, False
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return relative, True

    def path(self, relative: str) -> Path:
        """Absolute path of a stored image, refusing anything that escapes the root."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"reference path {relative!r} leaves the reference folder")
        return target

    def read(self, relative: str) -> bytes:
        """The bytes of a stored image (for a moderator's review or a thumbnail)."""
        return self.path(relative).read_bytes()

    def discard(self, relative: str) -> None:
        """Delete a stored image that no reference uses any more."""
        self.path(relative).unlink(missing_ok=True)
