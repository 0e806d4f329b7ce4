"""The README's first command: ``python -m litetrain.demo`` prints only what
litetrain says (no TensorFlow or LiteRT start-up logging)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.needs_tensorflow


def test_the_demo_trains_and_prints_only_its_own_lines():
    run = subprocess.run(
        [sys.executable, "-m", "litetrain.demo", "--epochs", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = (run.stdout + run.stderr).splitlines()
    assert any(line.startswith("test accuracy: litetrain") for line in lines), lines
    noise = [
        line
        for line in lines
        if line.startswith(("INFO:", "WARNING:", "I0000", "W0000", "E0000"))
        or "oneDNN" in line
        or "absl::InitializeLog" in line
    ]
    assert not noise, noise
