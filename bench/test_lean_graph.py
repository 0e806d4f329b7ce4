"""The lean training graph of litetrain.build against the plain GradientTape
conversion of the same model (the issue's 32-16-4 MLP, Dense(16, relu) ->
Dense(4), softmax cross-entropy, SGD, loss only), both run by the same
litetrain runner on the same batches. For small models a step costs what the
runtime dispatches, so the op count is the lever.

Run: ``python -m pytest bench/test_lean_graph.py --benchmark-columns=median,iqr,rounds``.
Each timed call runs STEPS train steps; ``extra_info`` holds ops and us per step.
"""

from __future__ import annotations

import litetrain
import numpy as np
import pytest
from litetrain.tf.reference_models import mlp_training_model

keras = pytest.importorskip("keras")
STEPS = 200
BATCH = 8
SIZES = (32, 16, 4)


def _lean() -> bytes:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((SIZES[0],)), keras.layers.Dense(SIZES[1], activation="relu"), keras.layers.Dense(SIZES[2])]
    )
    built = litetrain.build(
        model, "categorical_crossentropy", litetrain.optim.SGD(0.05), batch_size=BATCH, from_logits=True, metrics=()
    )
    return built.tflite


def _plain() -> bytes:
    return mlp_training_model(SIZES, batch_size=BATCH, learning_rate=0.05, accuracy=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4 * BATCH, SIZES[0]), dtype=np.float32)
    y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], 4 * BATCH)]
    reps = STEPS // 4  # a few distinct batches, repeated, so the loss can fall
    return np.tile(x, (reps, 1)), np.tile(y, (reps, 1))


@pytest.mark.parametrize("graph", ["lean", "plain"])
def test_train_step(benchmark, graph, data):
    """STEPS steps of Trainer.fit (the native loop: no Python per step)."""
    trainer = litetrain.Trainer(_lean() if graph == "lean" else _plain())
    x, y = data
    histories = []

    def steps():
        histories.append(trainer.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, progress=False))

    benchmark.group = "32-16-4 MLP train step, batch 8: lean vs plain graph"
    benchmark(steps)
    ops = trainer.model.signatures["train"].num_ops
    benchmark.extra_info.update(ops=ops, us_per_step=benchmark.stats.stats.median * 1e6 / STEPS)
    assert histories[-1].epoch_losses[0] < histories[0].epoch_losses[0], "the steps did not train"
    if graph == "lean":
        assert ops <= 43
