"""The error the builder raises for anything it cannot express in TFLite builtin ops."""

from __future__ import annotations

from litetrain.errors import Error


class BuildError(Error, ValueError):
    """A model, layer, loss or optimizer that litetrain cannot turn into a builtin-only training graph.

    The message names the layer (or loss / optimizer) and the operation, and
    what to do instead (freeze the layer, pick another option).
    """
