"""What the API's functions accept as "a model" and as "weights", resolved in
one place so that every function accepts, names and refuses the same things.

- a model: a :class:`litetrain.Model`, a :class:`litetrain.Trainer` (its
  model), a path to a ``.tflite`` file, or its bytes;
- weights: a Trainer (its current weights), a dict of arrays by name, or a
  checkpoint path.

A Trainer is recognised by its native core, so that this module (and baking,
which the Trainer calls) never imports trainer.py back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from litetrain import _core
from litetrain.checkpoint import load_checkpoint
from litetrain.model import Model


def is_trainer(value) -> bool:
    """True for a litetrain.Trainer (it holds a native trainer)."""
    return isinstance(getattr(value, "_native", None), _core.Trainer)


def model_source(model) -> tuple[_core.Model | bytes | bytearray | memoryview, str]:
    """The model as the core takes it (a loaded native model, or the file's
    bytes) and its name for messages (the path, or "<bytes>").

    Raises:
        FileNotFoundError: no file at the path.
        ValueError: the path is a folder.
        TypeError: anything else.
    """
    if is_trainer(model):
        model = model.model
    if isinstance(model, Model):
        return model._native, model._source
    if isinstance(model, (bytes, bytearray, memoryview)):
        return model, "<bytes>"
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        if os.path.isdir(source):
            raise ValueError(f"model path {source!r} is a directory, not a .tflite file")
        try:
            with open(source, "rb") as f:
                return f.read(), source
        except FileNotFoundError:
            raise FileNotFoundError(f"model file {source!r} does not exist") from None
    raise TypeError(f"model must be a litetrain.Model, Trainer, path or bytes, got {type(model).__name__}")


def model_bytes(model) -> bytes | bytearray | memoryview:
    """The model file's bytes (see :func:`model_source` for what `model` may be)."""
    native, _ = model_source(model)
    return native.file_bytes() if isinstance(native, _core.Model) else native


def weights_and_checkpoint(weights) -> tuple[dict[str, np.ndarray], str | None]:
    """The weights by name, and the checkpoint path they came from (None otherwise).

    Raises:
        FileNotFoundError: no checkpoint at the path.
        litetrain.CheckpointError: the checkpoint is damaged.
        TypeError: anything else.
    """
    if is_trainer(weights):
        return weights.snapshot(), None
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.exists(path):
            raise FileNotFoundError(f"checkpoint {path!r} does not exist")
        return load_checkpoint(path), path
    if isinstance(weights, Mapping):
        return {str(k): np.asarray(v) for k, v in weights.items()}, None
    raise TypeError(f"weights must be a Trainer, a dict of arrays or a checkpoint path, got {type(weights).__name__}")
