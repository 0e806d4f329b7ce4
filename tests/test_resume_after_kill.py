"""SIGKILL at random moments, then resume: every resume succeeds and ends with
the weights of an unbroken run, bit for bit, with no temporary file left.

Two writers: ``litetrain train --checkpoint`` and ``Trainer.fit`` with a
ModelCheckpoint callback, each a separate process killed with SIGKILL.
LITETRAIN_KILLS sets the number of kills per writer (default 12; the README's
figure comes from 100).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("LITETRAIN_KILLS", "12"))
EPOCHS = 60

FIT_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import litetrain
    from litetrain.callbacks import ModelCheckpoint

    model, data, checkpoint, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    arrays = dict(np.load(data))
    trainer = litetrain.Trainer(model)
    trainer.fit(arrays, batch_size=8, epochs=epochs, seed=5, progress=False,
                resume_from=checkpoint if os.path.exists(checkpoint) else None,
                callbacks=[ModelCheckpoint(checkpoint)])
    """
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(11)
    path = tmp_path_factory.mktemp("kill") / "data.npz"
    x = rng.standard_normal((800, 32), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 800)]
    np.savez(path, x=x, y=y)
    return path


def command(kind, model, data, checkpoint):
    if kind == "cli":
        return [
            sys.executable,
            "-m",
            "litetrain",
            "train",
            str(model),
            "--data",
            str(data),
            "--epochs",
            str(EPOCHS),
            "--batch-size",
            "8",
            "--seed",
            "5",
            "--checkpoint",
            str(checkpoint),
            "--resume",
        ]
    return [sys.executable, "-c", FIT_SCRIPT, str(model), str(data), str(checkpoint), str(EPOCHS)]


def run_to_end(cmd, timeout=600):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.parametrize("kind", ["cli", "fit"])
def test_resume_after_sigkill_ends_where_an_unbroken_run_does(kind, tmp_path, mlp_dynamic_path, data):
    unbroken = tmp_path / "unbroken" / "ck.npz"
    unbroken.parent.mkdir()
    started = time.perf_counter()
    run_to_end(command(kind, mlp_dynamic_path, data, unbroken))
    duration = time.perf_counter() - started

    folder = tmp_path / "killed"
    folder.mkdir()
    checkpoint = folder / "ck.npz"
    rng = random.Random(1234)
    cmd = command(kind, mlp_dynamic_path, data, checkpoint)
    kills = 0
    while kills < KILLS:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=rng.uniform(0.05, duration))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            continue
        # It finished before the kill: start over so that every kill lands in a run.
        assert process.returncode == 0, f"{cmd} exited with {process.returncode} after {kills} kills"
        checkpoint.unlink()
    run_to_end(cmd)
    with np.load(unbroken) as a, np.load(checkpoint) as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            assert a[name].tobytes() == b[name].tobytes(), name
    assert sorted(p.name for p in folder.iterdir()) == ["ck.npz"]  # no temporary file left
