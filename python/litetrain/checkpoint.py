"""Checkpoint files: every variable of a model in an ``.npz`` numpy can read.

Format (version 1): an uncompressed ``.npz`` with one array per variable,
named as the model's ``save`` signature names it, plus ``__litetrain__``: a
uint8 array holding UTF-8 JSON::

    {"format": "litetrain-checkpoint", "version": 1,
     "variables": {name: {"dtype": "float32", "shape": [..]}, ...},
     "sha256": hex digest over the variables in sorted name order of
               name, dtype, repr(tuple(shape)) and raw bytes, each taken of
               numpy.ascontiguousarray(value) (so a scalar counts as (1,))}

Files are written atomically: a temporary file in the same folder, fsync,
rename over the final name, fsync of the folder. A reader never sees a
half-written file under the final name.

Reading, writing and verifying are the C++ core's (``litetrain/checkpoint.h``):
C++ hosts and Python share one implementation, so a file either writes is
read by the other (and by ``numpy.load``).
"""

from __future__ import annotations

import os
import warnings
from typing import Mapping

import numpy as np

from litetrain import _core
from litetrain.errors import CheckpointError

FORMAT = "litetrain-checkpoint"
VERSION = 1
METADATA_KEY = "__litetrain__"

__all__ = ["CheckpointError", "load_checkpoint", "read_checkpoint", "write_checkpoint"]


def write_checkpoint(path: str | os.PathLike[str], variables: Mapping[str, np.ndarray]) -> None:
    """Writes `variables` to `path` atomically (see the module docstring).

    Raises:
        ValueError: a name that is empty, repeated or ``__litetrain__``; an
            array of a dtype litetrain does not support.
        FileNotFoundError: the folder does not exist.
        OSError: the system refused the write (permissions, a full disk).
    """
    _core.write_checkpoint(os.fspath(path), dict(variables))


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Reads and verifies a checkpoint; returns its variables by name, in the file's order.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is damaged or not a litetrain checkpoint.
        OSError: the system refused the read (a folder, permissions).
    """
    return _core.load_checkpoint(os.fspath(path))


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Deprecated: :func:`load_checkpoint` (the name this module had first)."""
    warnings.warn(
        "litetrain.checkpoint.read_checkpoint is deprecated: use litetrain.load_checkpoint",
        DeprecationWarning,
        stacklevel=2,
    )
    return load_checkpoint(path)
