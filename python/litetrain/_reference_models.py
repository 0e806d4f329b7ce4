"""The TensorFlow-free half of the tests' and benches' reference models: which
models the suites train (:data:`TEST_MODELS`), their initial weights, the
digits data set, and the training run that one machine records and another
reproduces. The models themselves are written in TensorFlow, in
:mod:`litetrain.tf.reference_models`; models of users come from :func:`litetrain.build`.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np


# The models the test suites train, by file stem. tools/make_test_models.py
# writes them (with TensorFlow) for runs that have none: the C++ tests, and
# pytest on a target machine (LITETRAIN_TEST_MODELS, see tests/conftest.py).
TEST_MODELS = {
    "mlp_fixed": {"layer_sizes": (32, 16, 4), "batch_size": 8},
    "mlp_dynamic": {"layer_sizes": (32, 16, 4), "batch_size": None},
    "mlp_digits": {"layer_sizes": (64, 32, 10), "batch_size": None, "learning_rate": 0.1},
    # Two equal initial biases: the converter stores them as one constant (bake's tests).
    "mlp_shared_init": {"layer_sizes": (32, 16, 16, 4), "batch_size": 8},
    # The dynamic-batch MLP with set_learning_rate / get_learning_rate signatures.
    "mlp_settable_lr": {"layer_sizes": (32, 16, 4), "batch_size": None, "settable_learning_rate": True},
    # The fixed-batch MLP with train_steps: 4 steps per run (Trainer::Fit's multi-step runs).
    "mlp_steps": {"layer_sizes": (32, 16, 4), "batch_size": 8, "steps_per_run": 4},
}


def mlp_initial_weights(layer_sizes: Sequence[int] = (32, 16, 4), seed: int = 0) -> dict[str, np.ndarray]:
    """The initial weights of :func:`litetrain.tf.reference_models.mlp_training_model`, by variable name.

    Glorot-uniform kernels and small non-zero biases (so that tests see them),
    drawn from ``numpy.random.default_rng(seed)``.

    Args:
        layer_sizes: Input width, hidden widths, number of classes.
        seed: Seed of the random generator.

    Returns:
        ``{"w0": [in, h0], "b0": [h0], "w1": ..., ...}``, float32 arrays.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights[f"w{i}"] = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        weights[f"b{i}"] = np.full(fan_out, 0.01, np.float32)
    return weights


def digits_dataset(seed: int = 0, test_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sklearn.datasets.load_digits`` (ships with scikit-learn: no download).

    Args:
        seed: Seed of the shuffle before the split.
        test_fraction: Fraction of the 1797 images held out for testing.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 features scaled to
        [0, 1] (64 per image) and one-hot float32 labels (10 classes), split by
        a seeded shuffle.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[digits.target]
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def digits_fit_result(
    model: bytes | str | os.PathLike, *, epochs: int = 20, batch_size: int = 32, seed: int = 7
) -> dict:
    """Trains the ``mlp_digits`` test model on digits with ``Trainer.fit``.

    What one machine records and another must reproduce (tests/test_cross_machine.py):
    the same model file, data, seed and steps on another CPU or build.

    Returns:
        ``{"machine", "accuracy", "epoch_losses", "losses", "steps",
        "test_samples"}``: the processor it ran on, the test accuracy after
        training, the mean loss of each epoch, every step's loss, the counts
        (plain values, JSON-ready).
    """
    import platform

    import litetrain

    x, y, x_test, y_test = digits_dataset(seed=0)
    trainer = litetrain.Trainer(model)
    history = trainer.fit(x, y, batch_size=batch_size, epochs=epochs, seed=seed, progress=False)
    logits = trainer.predict(x_test)["logits"]
    return {
        "machine": f"{platform.machine()} {_cpu_model()}".strip(),
        "accuracy": float(np.mean(logits.argmax(1) == y_test.argmax(1))),
        "epoch_losses": [float(v) for v in history.epoch_losses],
        "losses": [float(v) for v in history.losses],
        "steps": history.steps,
        "test_samples": len(x_test),
    }


def _cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (x86 "model name", Arm "CPU part"), or ""."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            lines = cpuinfo.read().splitlines()
    except OSError:
        return ""
    for key in ("model name", "CPU part"):
        for line in lines:
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return ""
