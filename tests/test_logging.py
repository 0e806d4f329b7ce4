"""LiteRT is silent by default and speaks when asked (LITETRAIN_LOG)."""

from __future__ import annotations

import os
import subprocess
import sys

LOAD_AND_RUN = """
import sys, numpy as np, litetrain
for _ in range(2):  # the first compilation in a process is the one TFLite announces
    model = litetrain.Model(sys.argv[1])
    model.runner("infer")(x=np.zeros((8, 32), np.float32))
print("ran")
"""


def run(path, **env):
    environment = {k: v for k, v in os.environ.items() if k != "LITETRAIN_LOG"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", LOAD_AND_RUN, str(path)], capture_output=True, text=True, env=environment, timeout=120
    )


def test_silent_by_default(mlp_fixed_path):
    result = run(mlp_fixed_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ran"
    assert result.stderr == ""


def test_info_on_request(mlp_fixed_path):
    result = run(mlp_fixed_path, LITETRAIN_LOG="info")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() != ""
