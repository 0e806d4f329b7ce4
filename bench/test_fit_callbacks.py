"""What epoch-end callbacks cost per training step: the same multi-epoch
``Trainer.fit`` with and without Keras-style callbacks, in one run.

Run: ``python -m pytest bench/test_fit_callbacks.py --benchmark-columns=median,iqr,rounds -s``.
Callbacks that act only at epoch ends run no Python per step, so the two
medians should agree within noise (the target is 2 %); the test prints both
per-step medians and their ratio (``-s`` shows it; ``extra_info`` keeps it).
Measured 2026-12-03 on the 2-core x86 dev machine: EarlyStopping +
TerminateOnNaN cost 0.4 % (tiny MLP) and 0.0 % (64-128-10) per step; adding
CSVLogger adds one file creation per fit (0.2-0.5 ms on ext4, paid once, not
per step), which on these short 5-epoch fits reads as 8 % and 3 %.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

import litetrain
from litetrain.tf.reference_models import mlp_training_model
from litetrain.callbacks import CSVLogger, EarlyStopping, TerminateOnNaN

EPOCHS = 5
SAMPLES = 1792  # about the digits set
MODELS = {  # name: (layer sizes, batch); the tiny one is the worst case, its steps are cheapest
    "mlp-32-16-4-b8": ((32, 16, 4), 8),
    "mlp-64-128-10-b32": ((64, 128, 10), 32),
}


@pytest.fixture(scope="module", params=list(MODELS))
def data(request):
    sizes, batch = MODELS[request.param]
    model = mlp_training_model(sizes, batch_size=batch, learning_rate=0.01)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SAMPLES, sizes[0]), dtype=np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], SAMPLES)]
    return request.param, batch, model, x, y


def _epoch_end_callbacks(tmp_path):
    # Patience beyond the run, so every epoch is trained in both cases. (The
    # reference model has no learning-rate signature, so no ReduceLROnPlateau.)
    return [
        EarlyStopping(monitor="loss", patience=EPOCHS + 1),
        CSVLogger(tmp_path / "log.csv"),  # opening it costs ~0.2-0.5 ms per fit on ext4 (truncation)
        TerminateOnNaN(),
    ]


def test_fit_epochs(benchmark, data, tmp_path):
    """Times fits with and without callbacks in alternating order (so drift in
    the machine's speed hits both alike); the benchmark's own timing is of the
    pair, ``extra_info`` holds each side's median per step and their ratio."""
    name, batch, model, x, y = data
    trainer = litetrain.Trainer(model)
    sides = {"no_callbacks": [], "epoch_end_callbacks": _epoch_end_callbacks(tmp_path)}
    seconds = {name: [] for name in sides}
    histories = {}

    def fit(side):
        start = time.perf_counter()
        histories[side] = trainer.fit(
            x, y, batch_size=batch, epochs=EPOCHS, shuffle=False, callbacks=sides[side], progress=False
        )
        seconds[side].append(time.perf_counter() - start)

    order = list(sides)

    def pair():
        for side in order:
            fit(side)
        order.reverse()

    benchmark.group = f"fit: {EPOCHS} epochs of {SAMPLES} samples, {name}, with and without callbacks"
    benchmark.pedantic(pair, rounds=31, iterations=1, warmup_rounds=3)
    steps = EPOCHS * (SAMPLES // batch)
    median = {side: statistics.median(times[3:]) for side, times in seconds.items()}  # past the warm-up rounds
    for side, value in median.items():
        benchmark.extra_info[f"{side}_us_per_step"] = value * 1e6 / steps
    benchmark.extra_info["ratio"] = median["epoch_end_callbacks"] / median["no_callbacks"]
    print(
        f"\n{name} per step: {benchmark.extra_info['no_callbacks_us_per_step']:.2f} us without callbacks, "
        f"{benchmark.extra_info['epoch_end_callbacks_us_per_step']:.2f} us with; "
        f"ratio {benchmark.extra_info['ratio']:.3f}"
    )
    assert all(len(h.history["loss"]) == EPOCHS for h in histories.values()), "a callback stopped the run early"
