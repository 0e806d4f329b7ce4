"""Exceptions raised by litetrain.

Bad arguments raise the builtin that fits (``ValueError``, ``IndexError``,
``FileNotFoundError``), a file the system refuses an ``OSError``
(``PermissionError``, ``IsADirectoryError``, ...); everything else is a
:class:`Error`.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of litetrain's own failures."""


class ModelFormatError(Error, ValueError):
    """The bytes are not a usable TFLite model (truncated, corrupt, inconsistent)."""


class CheckpointError(Error, ValueError):
    """A checkpoint file is damaged, not a litetrain checkpoint, or of another model."""


class WeightsMismatch(Error, ValueError):
    """Weights (a snapshot, a checkpoint's variables) that do not fit the model: names, dtypes or shapes."""


class BuildError(Error, ValueError):
    """A model, layer, loss or optimizer that litetrain cannot turn into a builtin-only training graph.

    The message names the layer (or loss / optimizer) and the operation, and
    what to do instead (freeze the layer, pick another option).
    """


class LibraryError(Error, ImportError):
    """``libLiteRt.so`` is missing, cannot be loaded, or is an unsupported version."""


class RuntimeFailure(Error, RuntimeError):
    """The LiteRT runtime failed a call; the message carries its reason."""


class NonFiniteLoss(Error, ArithmeticError):
    """Training produced a NaN or infinite loss (``on_nonfinite="raise"``)."""


class TrainerBusy(Error, RuntimeError):
    """``fit`` was called on a Trainer that is already running one (another thread, or its own callback)."""
