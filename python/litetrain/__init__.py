"""litetrain: train TFLite / LiteRT models on the device that runs them, fast."""

from __future__ import annotations

import importlib

from litetrain import _core, _runtime, callbacks, optim
from litetrain.checkpoint import load_checkpoint, write_checkpoint
from litetrain.errors import (
    BuildError,
    CheckpointError,
    Error,
    LibraryError,
    ModelFormatError,
    NonFiniteLoss,
    RuntimeFailure,
    TrainerBusy,
    WeightsMismatch,
)
from litetrain.baking import Baked, bake
from litetrain.compatibility import Compatibility, check_compatibility, list_operators
from litetrain.model import Model, SignatureRunner, UninitializedVariablesWarning, profile
from litetrain.trainer import History, Trainer

__version__ = "0.1.0"

# The names that need TensorFlow, by the module of litetrain.tf that holds them.
# They load on first use (module __getattr__), so `import litetrain` and
# everything else in it run without TensorFlow.
_TENSORFLOW_SIDE = {
    "BuiltModel": "litetrain.tf.builder",
    "LastLayers": "litetrain.tf.builder",
    "LayersFrom": "litetrain.tf.builder",
    "build": "litetrain.tf.builder",
    "SplitModel": "litetrain.tf.split",
    "build_split": "litetrain.tf.split",
    "ConvertedModel": "litetrain.tf.convert",
    "convert": "litetrain.tf.convert",
    "ExportReport": "litetrain.tf.export",
    "export": "litetrain.tf.export",
    "load_weights": "litetrain.tf.keras_weights",
}

# XNNPACK delegate flags for Model(..., xnnpack_flags=...): QS8, QU8,
# DYNAMIC_FULLY_CONNECTED, ..., and DEFAULT (what a Model uses unless told).
xnnpack_flags = _core.xnnpack_flags

__all__ = [
    "Baked",
    "BuildError",
    "BuiltModel",
    "CheckpointError",
    "Compatibility",
    "ConvertedModel",
    "Error",
    "ExportReport",
    "History",
    "LastLayers",
    "LayersFrom",
    "LibraryError",
    "Model",
    "ModelFormatError",
    "NonFiniteLoss",
    "RuntimeFailure",
    "SignatureRunner",
    "SplitModel",
    "Trainer",
    "TrainerBusy",
    "UninitializedVariablesWarning",
    "WeightsMismatch",
    "build",
    "build_split",
    "bake",
    "callbacks",
    "check_compatibility",
    "convert",
    "epoch_order",
    "export",
    "get_log_level",
    "load_checkpoint",
    "load_weights",
    "optim",
    "list_operators",
    "profile",
    "set_log_level",
    "write_checkpoint",
    "xnnpack_flags",
]

_installed = _runtime.installed_litert_library()
if _installed is not None:
    _core.set_default_library_path(_installed)


def __getattr__(name: str):
    module = _TENSORFLOW_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module 'litetrain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TENSORFLOW_SIDE))


def set_log_level(level: str) -> None:
    """Sets how much LiteRT itself prints to stderr, for models loaded afterwards.

    Args:
        level: "silent" (the default), "error", "warning", "info" or "verbose".
            The environment variable ``LITETRAIN_LOG`` sets the initial value.

    Raises:
        ValueError: for any other level.
    """
    _core.set_log_level(level)


def get_log_level() -> str:
    """Returns the current LiteRT log level (see :func:`set_log_level`)."""
    return _core.get_log_level()


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True):
    """The order in which :meth:`Trainer.fit` visits `n` samples in `epoch`.

    A Fisher-Yates shuffle driven by SplitMix64 seeded with
    ``seed + 0x9E3779B97F4A7C15 * (epoch + 1)`` (mod 2**64); 0..n-1 without shuffle.
    """
    import numpy as np

    return np.asarray(_core.epoch_order(n, seed, epoch, shuffle), dtype=np.int64)
