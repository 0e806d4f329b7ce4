"""Native start-up logging kept out of the user's terminal.

TensorFlow's import writes absl lines straight to file descriptor 2, past
``sys.stderr`` and past ``TF_CPP_MIN_LOG_LEVEL`` (on CPUs where oneDNN's
custom operations are on: "WARNING: All log messages before
absl::InitializeLog() ..." and "I0000 ... port.cc] oneDNN custom operations
are on"), and ai_edge_litert's Interpreter prints "INFO: Created TensorFlow
Lite XNNPACK delegate for CPU.". :func:`filtered` catches what native code
and Python write to descriptor 2 for a while and passes on everything except
those informational lines, so errors and warnings of litetrain's own still
reach the user (after the block). ``LITETRAIN_LOG=info`` or ``verbose``
(:func:`litetrain.set_log_level`) keeps every line.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

# absl's "I0000 00:00:..." / "W0000 ..." lines, absl's note that logging is
# not initialised yet, TFLite's own "INFO: ..." lines. Errors (E, F) pass.
_NOISE = re.compile(r"^(?:[IW]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog\(\)|INFO: )")


def is_noise(line: str) -> bool:
    """True for a native informational line that :func:`filtered` drops."""
    return _NOISE.match(line) is not None


@contextlib.contextmanager
def filtered() -> Iterator[None]:
    """Descriptor 2 goes to a temporary file inside the block; on leaving it,
    the lines that are not native informational logging are written to the
    real descriptor 2 (exceptions pass through unchanged)."""
    from litetrain import get_log_level

    if get_log_level() in ("info", "verbose"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        try:
            os.dup2(caught.fileno(), 2)
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [
                line for line in caught.read().decode(errors="replace").splitlines(keepends=True) if not is_noise(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
