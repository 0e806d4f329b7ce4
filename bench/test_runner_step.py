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
from litetrain.bench.models import MODELS

CASES = {"mlp-tiny-b8": ("mlp-tiny", 8), "mlp-mid-b32": ("mlp-mid", 32)}  # a model of litetrain.bench.models, batch


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    name, batch = CASES[request.param]
    spec = MODELS[name]
    model = spec.build(batch)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *spec.input_shape), dtype=np.float32)
    y = np.eye(spec.classes, dtype=np.float32)[rng.integers(0, spec.classes, batch)]
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
