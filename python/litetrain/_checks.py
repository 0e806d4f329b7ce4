"""Numbers checked where they enter, so that no bad value reaches the native core.

pybind11 reports an out-of-range integer as a TypeError that prints every
argument of the call, whole data arrays included; these checks say what is
wrong with the one value instead.
"""

from __future__ import annotations

import numbers

INT64_MAX = 2**63 - 1
# LiteRT takes the thread count as an int; beyond a few thousand is a mistake.
MAX_THREADS = 4096


def check_int(name: str, value: object, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """`value` as an int in [minimum, maximum]; ValueError otherwise (a bool is not an integer here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if not minimum <= value <= maximum:
        bound = f"between {minimum} and {maximum}" if maximum < INT64_MAX else f"at least {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value
