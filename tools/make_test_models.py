"""Writes the .tflite models the C++ tests run (TensorFlow builds them), and
synthetic .npy data for the 32-16-4 MLP (the example host's ctest).

Usage: python tools/make_test_models.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from litetrain._reference_models import mlp_training_model

MODELS = {
    "mlp_fixed.tflite": dict(layer_sizes=(32, 16, 4), batch_size=8),
    "mlp_dynamic.tflite": dict(layer_sizes=(32, 16, 4), batch_size=None),
    # Two equal initial biases: the converter stores them as one constant.
    "mlp_shared_init.tflite": dict(layer_sizes=(32, 16, 16, 4), batch_size=8),
}


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, kwargs in MODELS.items():
        path = out / name
        if path.exists():
            continue  # built in an earlier run of the same checkout
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(mlp_training_model(**kwargs))
        tmp.replace(path)
        print(f"wrote {path}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 32), dtype=np.float32)
    data = {"mlp_x.npy": x, "mlp_y.npy": np.eye(4, dtype=np.float32)[(x[:, :4].argmax(1))]}
    for name, array in data.items():
        if not (out / name).exists():
            np.save(out / name, array)  # small: rewritten whole if a run was cut short


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
