"""Step latency of a signature runner from Python: litetrain beside
ai_edge_litert's Interpreter, on the same model file and the same batch.

Run with ``python -m pytest bench/ --benchmark-columns=median,iqr,rounds``.
Each case asserts that the steps it timed actually trained.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import litetrain
from litetrain._reference_models import mlp_training_model

CASES = {
    "mlp-32-16-4-b8": ((32, 16, 4), 8),
    "mlp-784-128-10-b32": ((784, 128, 10), 32),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    sizes, batch = CASES[request.param]
    model = mlp_training_model(sizes, batch_size=batch, learning_rate=0.01)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return request.param, model, x, y


def _bench(benchmark, train, x, y):
    first = float(train(x=x, y=y)["loss"])
    benchmark.pedantic(lambda: train(x=x, y=y), rounds=2000, iterations=1, warmup_rounds=200)
    assert float(train(x=x, y=y)["loss"]) < first, "the timed steps did not train"


def test_litetrain_runner(benchmark, case):
    name, model, x, y = case
    benchmark.group = f"train step {name}"
    _bench(benchmark, litetrain.Model(model).runner("train"), x, y)


def test_interpreter_runner(benchmark, case):
    name, model, x, y = case
    benchmark.group = f"train step {name}"
    _bench(benchmark, Interpreter(model_content=model).get_signature_runner("train"), x, y)
