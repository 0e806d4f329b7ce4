"""Locating the LiteRT runtime library that the native core loads."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

LIBRARY_NAME = "libLiteRt.so"


def installed_litert_library() -> str | None:
    """Returns the path of ``libLiteRt.so`` in the installed ``ai_edge_litert``.

    Found without importing the package, which would load its own modules.
    Returns None if the package or the library is absent.
    """
    spec = importlib.util.find_spec("ai_edge_litert")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / LIBRARY_NAME
        if candidate.is_file():
            return os.fspath(candidate)
    return None
