"""How far a step is from the arithmetic limit: this machine's single-core
sgemm rate measured in the run (a step's FLOPs: :func:`litetrain.tf.flops.flops_per_step`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


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
