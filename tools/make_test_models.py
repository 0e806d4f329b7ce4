"""Writes what test runs without TensorFlow need, made on this machine.

Usage: python tools/make_test_models.py OUT_DIR

- ``<name>.tflite`` for every model in ``litetrain._reference_models.TEST_MODELS``
  (TensorFlow builds them): the C++ tests read them, and so does pytest when
  ``LITETRAIN_TEST_MODELS=OUT_DIR`` (tools/test-aarch64, under emulation);
- ``mlp_x.npy``, ``mlp_y.npy``: synthetic data for the 32-16-4 MLP (the
  example host's ctest);
- ``digits_reference.json``: what training ``mlp_digits.tflite`` on digits gives
  here (litetrain's native fit), which tests/test_cross_machine.py reproduces
  elsewhere (``LITETRAIN_DIGITS_REFERENCE``).

Models already there are kept (same checkout, same models); the reference is
made anew. Each file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

from litetrain._reference_models import TEST_MODELS, digits_fit_result
from litetrain.tf.reference_models import mlp_training_model

DIGITS_MODEL = "mlp_digits.tflite"
DIGITS_REFERENCE = "digits_reference.json"


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    print(f"wrote {path}")


def digits_reference(model_path: Path) -> dict:
    import ai_edge_litert

    model = model_path.read_bytes()
    return {
        "model": model_path.name,
        "model_sha256": hashlib.sha256(model).hexdigest(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "ai_edge_litert": getattr(ai_edge_litert, "__version__", "unknown"),
        **digits_fit_result(model),
    }


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, kwargs in TEST_MODELS.items():
        path = out / f"{name}.tflite"
        if not path.exists():
            write_atomically(path, mlp_training_model(**kwargs))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 32), dtype=np.float32)
    data = {"mlp_x.npy": x, "mlp_y.npy": np.eye(4, dtype=np.float32)[(x[:, :4].argmax(1))]}
    for name, array in data.items():
        if not (out / name).exists():
            np.save(out / name, array)  # small: rewritten whole if a run was cut short
    # Made anew each time (a few seconds): it must come from the litetrain installed now.
    write_atomically(out / DIGITS_REFERENCE, json.dumps(digits_reference(out / DIGITS_MODEL), indent=1).encode())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
