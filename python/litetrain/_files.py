"""Atomic file writes: a reader never sees a half-written file under the final name."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Writes `data` (text as UTF-8) to a temporary file beside `path`, fsyncs it, renames it over `path`,
    fsyncs the folder."""
    payload = data.encode() if isinstance(data, str) else data
    write_atomically_with(path, lambda f: f.write(payload))


def write_atomically_with(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """The same for a writer that takes an open binary file (matplotlib's savefig, ...)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would surprise whoever reads it next
        with os.fdopen(fd, "wb") as f:
            write(f)
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
