"""Damaged model files never kill the process.

LiteRT's C API does not verify a model, and damaged files crash its loader
(SIGSEGV). Each variant here is loaded, and if accepted run, in a process of
its own, so that a crash shows as a signal instead of ending the test run.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import REPORT

TRUNCATIONS = 100
BIT_FLIPS = 250

# Exit codes of the probe: 0 loaded and ran, 3 rejected with a litetrain or
# builtin error; anything else (a signal, a traceback of another kind) fails.
PROBE = """
import sys
import numpy as np
import litetrain
try:
    model = litetrain.Model(sys.stdin.buffer.read())
    for key, sig in model.signatures.items():
        if key in ("infer", "save"):
            inputs = {n: np.zeros([1 if d < 0 else d for d in t.shape], t.dtype) for n, t in sig.inputs.items()}
            model.runner(key)(**inputs)
except (litetrain.Error, ValueError, IndexError) as e:
    sys.exit(3)
sys.exit(0)
"""


def variants(data: bytes, seed: int) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(seed)
    out = []
    for size in np.linspace(0, len(data) - 1, TRUNCATIONS).astype(int):
        out.append((f"truncated to {size}", data[:size]))
    for _ in range(BIT_FLIPS):
        damaged = bytearray(data)
        position = int(rng.integers(0, len(data)))
        damaged[position] ^= 1 << int(rng.integers(0, 8))
        out.append((f"bit flip at {position}", bytes(damaged)))
    return out


def probe(variant: bytes) -> int:
    return subprocess.run([sys.executable, "-c", PROBE], input=variant, capture_output=True, timeout=120).returncode


@pytest.mark.slow
@pytest.mark.parametrize("model_fixture, seed", [("mlp_fixed_path", 1234), ("mlp_dynamic_path", 99)])
def test_damaged_models_never_crash(request, model_fixture, seed):
    cases = variants(request.getfixturevalue(model_fixture).read_bytes(), seed)
    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(probe, (v for _, v in cases)))
    crashed = [(name, code) for (name, _), code in zip(cases, codes) if code not in (0, 3)]
    rejected = sum(code == 3 for code in codes)
    loaded = sum(code == 0 for code in codes)
    truncations_rejected = sum(code == 3 for code in codes[:TRUNCATIONS])
    REPORT.append(
        f"damaged {model_fixture[:-5]}: {len(cases)} variants ({TRUNCATIONS} truncations, {BIT_FLIPS} bit flips): "
        f"{rejected} rejected cleanly ({truncations_rejected}/{TRUNCATIONS} truncations), "
        f"{loaded} loaded and ran, {len(crashed)} crashed"
    )
    assert not crashed, f"crashed (negative code = signal): {crashed[:10]}"
    assert truncations_rejected == TRUNCATIONS
