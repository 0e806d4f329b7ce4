"""Child process of tests/variant_runs.py: loads and runs model variants.

Usage: python variant_probe.py DIR FIRST LAST

For each i in FIRST..LAST-1 it reads DIR/<i>.tflite, loads it with
litetrain.Model and runs every signature once on zeros of its declared input
shapes (dynamic dimensions as 1). Before a variant it prints "> i", after it
"= i OUTCOME", flushed: OUTCOME is "ok", the litetrain error class
(ModelFormatError, RuntimeFailure, ...) or "other:<type>:<message>". When the
process dies inside a variant, its last line is "> i".
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import litetrain
from litetrain import errors


def load_and_run(data: bytes) -> None:
    model = litetrain.Model(data)
    for key, signature in model.signatures.items():
        inputs = {
            name: np.zeros([1 if d < 0 else d for d in tensor.shape], tensor.dtype)
            for name, tensor in signature.inputs.items()
        }
        if sum(a.nbytes for a in inputs.values()) > 64 << 20:
            continue  # consistent but too large to feed here
        try:
            model.runner(key)(**inputs)
        except errors.RuntimeFailure:
            pass  # one signature's kernels refusing; the next may run


def outcome(data: bytes) -> str:
    try:
        load_and_run(data)
    except errors.Error as e:
        return type(e).__name__
    except Exception as e:  # noqa: BLE001 - any other type is what the caller reports
        return f"other:{type(e).__name__}:{str(e)[:200]}"
    return "ok"


def main(folder: str, first: int, last: int) -> None:
    for i in range(first, last):
        print(f"> {i}", flush=True)
        result = outcome((Path(folder) / f"{i}.tflite").read_bytes())
        print(f"= {i} {result}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
