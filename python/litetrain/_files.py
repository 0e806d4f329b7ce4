"""Atomic file writes: a reader never sees a half-written file under the final name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would surprise whoever reads it next
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent or ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
