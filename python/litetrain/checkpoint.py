"""Checkpoint files: every variable of a model in an ``.npz`` numpy can read.

Format (version 1): an uncompressed ``.npz`` with one array per variable,
named as the model's ``save`` signature names it, plus ``__litetrain__``: a
uint8 array holding UTF-8 JSON::

    {"format": "litetrain-checkpoint", "version": 1,
     "variables": {name: {"dtype": "float32", "shape": [..]}, ...},
     "sha256": hex digest over the variables in sorted name order of
               name, dtype, shape and raw bytes}

Files are written atomically: a temporary file in the same folder, fsync,
rename over the final name, fsync of the folder. A reader never sees a
half-written file under the final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from litetrain.errors import Error

FORMAT = "litetrain-checkpoint"
VERSION = 1
METADATA_KEY = "__litetrain__"


class CheckpointError(Error, ValueError):
    """A checkpoint file is damaged, not a litetrain checkpoint, or of another model."""


def _digest(variables: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(variables):
        value = np.ascontiguousarray(variables[name])
        h.update(name.encode())
        h.update(str(value.dtype).encode())
        h.update(repr(tuple(value.shape)).encode())
        h.update(value.tobytes())
    return h.hexdigest()


def _write_npz(file, arrays: Mapping[str, np.ndarray]) -> None:
    """What np.savez writes, without passing names as keyword arguments
    (a variable called "file" or "allow_pickle" would clash)."""
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def write_checkpoint(path: str | os.PathLike[str], variables: Mapping[str, np.ndarray]) -> None:
    """Writes `variables` to `path` atomically (see the module docstring)."""
    if METADATA_KEY in variables:
        raise ValueError(f"a variable may not be called {METADATA_KEY!r}")
    target = Path(path)
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "variables": {n: {"dtype": str(v.dtype), "shape": list(v.shape)} for n, v in variables.items()},
        "sha256": _digest(variables),
    }
    arrays = dict(variables)
    arrays[METADATA_KEY] = np.frombuffer(json.dumps(metadata).encode(), np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would surprise whoever reads it next
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
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


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Reads and verifies a checkpoint; returns its variables by name.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is damaged or not a litetrain checkpoint.
    """
    path = os.fspath(path)
    try:
        # Opened here so that the file is closed even when numpy gives up
        # half-way (np.load leaks its handle on a damaged zip).
        with open(path, "rb") as file:
            loaded = np.load(file, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise CheckpointError(f"{path!r} is a single .npy array, not a litetrain checkpoint (.npz)")
            with loaded as archive:
                arrays = {name: archive[name] for name in archive.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError, CheckpointError):
        raise
    except Exception as e:  # zipfile, zlib, numpy's format errors: all mean damage
        raise CheckpointError(f"checkpoint {path!r} is damaged or not an .npz file: {e}") from None
    if METADATA_KEY not in arrays:
        raise CheckpointError(f"{path!r} is an .npz file but not a litetrain checkpoint (no {METADATA_KEY!r})")
    try:
        metadata = json.loads(arrays.pop(METADATA_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path!r} has damaged metadata: {e}") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("variables"), dict):
        raise CheckpointError(f"checkpoint {path!r} has damaged metadata")
    if metadata.get("format") != FORMAT or metadata.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {path!r} has format {metadata.get('format')!r} version {metadata.get('version')!r}; "
            f"this litetrain reads {FORMAT!r} version {VERSION}"
        )
    if set(metadata.get("variables", {})) != set(arrays):
        raise CheckpointError(f"checkpoint {path!r} lists other variables than it holds")
    if metadata.get("sha256") != _digest(arrays):
        raise CheckpointError(f"checkpoint {path!r} fails its checksum: the data is damaged")
    return arrays


def check_matches(path: str | os.PathLike[str], variables: Mapping[str, np.ndarray], model: Mapping[str, np.ndarray]) -> None:
    """Raises CheckpointError unless `variables` have the names, dtypes and shapes of `model`'s."""
    missing = sorted(set(model) - set(variables))
    extra = sorted(set(variables) - set(model))
    if missing or extra:
        raise CheckpointError(
            f"checkpoint {os.fspath(path)!r} is of another model: "
            + (f"it lacks {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"it has {extra}, which this model does not" if extra else "")
        )
    for name, value in model.items():
        theirs = variables[name]
        if theirs.dtype != value.dtype or theirs.shape != value.shape:
            raise CheckpointError(
                f"checkpoint {os.fspath(path)!r} is of another model: variable {name!r} is "
                f"{theirs.dtype}{list(theirs.shape)} there, {value.dtype}{list(value.shape)} here"
            )
