"""Writes the seed inputs of the fuzzers (cpp/fuzz/, tools/run-fuzzers).

Usage: python tools/make_fuzz_seeds.py OUT_DIR

- ``OUT_DIR/model/<kind>.tflite``: one model of each kind in tests/model_kinds.py
  (tools/run-fuzzers adds tools/make_test_models.py's models);
- ``OUT_DIR/checkpoint/*.npz``: litetrain checkpoints of several dtypes and
  shapes, and a plain np.savez archive;
- ``OUT_DIR/npy/*.npy``: arrays as numpy writes them, versions 1-3, and some
  litetrain refuses (Fortran order, big-endian, object dtype).

Files already there are kept: the models come from TensorFlow, which takes a
while to start.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def npy_bytes(array: np.ndarray, version: tuple[int, int] | None = None, **kwargs) -> bytes:
    out = io.BytesIO()
    if version is None:
        np.save(out, array, **kwargs)
    else:
        np.lib.format.write_array(out, array, version=version, **kwargs)
    return out.getvalue()


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "f32_2d": rng.standard_normal((3, 4), dtype=np.float32),
        "f64_1d": np.arange(5, dtype=np.float64),
        "f16_3d": np.ones((2, 1, 3), np.float16),
        "i8": np.array([-1, 2, 3], np.int8),
        "u16": np.array([[7]], np.uint16),
        "i64_scalar": np.array(9, np.int64),
        "bool": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float32),
    }


def main(out_dir: str) -> None:
    out = Path(out_dir)
    for part in ("model", "checkpoint", "npy"):
        (out / part).mkdir(parents=True, exist_ok=True)

    for name, array in arrays().items():
        write(out / "npy" / f"{name}.npy", npy_bytes(array))
    write(out / "npy" / "version2.npy", npy_bytes(np.ones((2, 2), np.float32), version=(2, 0)))
    write(out / "npy" / "version3.npy", npy_bytes(np.ones((2,), np.int32), version=(3, 0)))
    write(out / "npy" / "fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), np.float32))))
    write(out / "npy" / "big_endian.npy", npy_bytes(np.ones(3, ">f4")))
    write(out / "npy" / "object.npy", npy_bytes(np.array([1, "a"], dtype=object), allow_pickle=True))

    from litetrain.checkpoint import write_checkpoint

    all_arrays = arrays()
    checkpoints = {
        "mlp": {"w0": all_arrays["f32_2d"], "b0": np.zeros(4, np.float32)},
        "mixed": {k: v for k, v in all_arrays.items() if k != "empty"},
        "one_scalar": {"step": np.array(3, np.int64)},
        "unicode_name": {"gewicht_\u00e4": np.ones(2, np.float32)},
        "empty_array": {"e": all_arrays["empty"]},
    }
    for name, variables in checkpoints.items():
        path = out / "checkpoint" / f"{name}.npz"
        write_checkpoint(path, variables)
    plain = io.BytesIO()
    np.savez(plain, a=np.ones(3, np.float32))
    write(out / "checkpoint" / "plain_npz.npz", plain.getvalue())

    if all((out / "model" / f"{kind}.tflite").exists() for kind in __import__("model_kinds").KINDS):
        return
    from model_kinds import model_kinds

    for kind, data in model_kinds().items():
        write(out / "model" / f"{kind}.tflite", data)
        print(f"wrote {out / 'model' / kind}.tflite")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
