"""Loads and runs many model variants in child processes, batched.

One child (tests/variant_probe.py) takes a batch of variants; when a variant
kills it, that variant is recorded as a death and a new child continues with
the next one. So a crash costs one process start, not the whole run.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = Path(__file__).with_name("variant_probe.py")


def _run_child(folder: str, first: int, last: int, timeout: float) -> tuple[dict[int, str], int, int | None]:
    """Runs variants first..last-1; returns (outcomes, next index, exit code or None if it finished)."""
    try:
        done = subprocess.run(
            [sys.executable, str(PROBE), folder, str(first), str(last)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        stdout, code = done.stdout, done.returncode
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        code = "timeout"
    outcomes: dict[int, str] = {}
    started = None
    for line in stdout.splitlines():
        if line.startswith("> "):
            started = int(line[2:])
        elif line.startswith("= "):
            index, result = line[2:].split(" ", 1)
            outcomes[int(index)] = result
    if code == 0 and len(outcomes) == last - first:
        return outcomes, last, None
    # Died (a signal, an abort, a timeout) inside variant `started`.
    dead = started if started is not None and started not in outcomes else first
    outcomes[dead] = f"death:{code}"
    return outcomes, dead + 1, code


def probe_all(variants: list[bytes], batch: int = 100, timeout: float = 600) -> list[str]:
    """The outcome of each variant: "ok", a litetrain error class name,
    "other:<type>:<message>" or "death:<exit code>" (negative: a signal)."""
    results: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="litetrain-variants-") as folder:
        for i, data in enumerate(variants):
            (Path(folder) / f"{i}.tflite").write_bytes(data)
        start = 0
        while start < len(variants):
            last = min(start + batch, len(variants))
            outcomes, start, _ = _run_child(folder, start, last, timeout)
            results.update(outcomes)
    return [results[i] for i in range(len(variants))]
