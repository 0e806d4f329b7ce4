"""litetrain: train TFLite / LiteRT models on the device that runs them, fast."""

from __future__ import annotations

from litetrain import _core, _runtime
from litetrain.errors import Error, LibraryError, ModelFormatError, RuntimeFailure
from litetrain.model import Model, SignatureRunner

__version__ = "0.1.0"

__all__ = [
    "Error",
    "LibraryError",
    "Model",
    "ModelFormatError",
    "RuntimeFailure",
    "SignatureRunner",
    "get_log_level",
    "set_log_level",
]

_installed = _runtime.installed_litert_library()
if _installed is not None:
    _core.set_default_library_path(_installed)


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
