"""How far a step is from the arithmetic limit: the FLOPs of a training step of
a bench model, and this machine's single-core sgemm rate measured in the run.

FLOPs count the matrix products only (2 per multiply-add): each Dense and
Conv2D layer's forward product, its weight gradient, and its input gradient
except for the first layer, whose input needs none. Activations, pooling and
the SGD update are a few percent of that for these models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def flops_per_step(keras_model, batch: int) -> int:
    """Training FLOPs of one step of `keras_model` (Dense / Conv2D products) at `batch`."""
    total, first = 0, True
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            macs = batch * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif kind == "Conv2D":
            out_h, out_w, cout = layer.output.shape[1:]
            kh, kw, cin, _ = layer.kernel.shape
            macs = batch * out_h * out_w * kh * kw * cin * cout
        else:
            continue
        products = 2 if first else 3  # forward, weight gradient (, input gradient)
        total += 2 * macs * products
        first = False
    return total


_SGEMM = r"""
import json, sys, time
import numpy as np
n = int(sys.argv[1])
rng = np.random.default_rng(0)
a, b = (rng.random((n, n), dtype=np.float32) for _ in range(2))
a @ b
runs = []
for _ in range(9):
    started = time.perf_counter()
    a @ b
    runs.append(time.perf_counter() - started)
runs.sort()
print(json.dumps({"n": n, "gflops": 2 * n**3 / runs[len(runs) // 2] / 1e9}))
"""


def sgemm_gflops(size: int = 1024) -> dict:
    """numpy's float32 matmul on one thread, in a child process (BLAS reads its
    thread count at start): {"n": size, "gflops": median rate}."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _SGEMM, str(size)], capture_output=True, text=True, env=env, check=True, timeout=300
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
