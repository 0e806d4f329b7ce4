"""Per-step cost of Trainer.fit (data feeding included) beside the Python loops
a user would otherwise write, on the same model file and the same batches.

Run: ``python -m pytest bench/test_fit_step.py --benchmark-columns=median,iqr,rounds``.
Every timed call covers STEPS steps; divide the times by STEPS for a step
(``extra_info["us_per_step"]`` holds the median per step). Each case asserts
that its steps trained.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import litetrain
from litetrain.bench.models import MODELS

STEPS = 200
CASES = {  # name: (model of litetrain.bench.models, batch of the file (None: dynamic), batch fed)
    "mlp-tiny-b8-fixed": ("mlp-tiny", 8, 8),
    "mlp-tiny-b8-dynamic": ("mlp-tiny", None, 8),
    "mlp-mid-b32-fixed": ("mlp-mid", 32, 32),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    name, model_batch, batch = CASES[request.param]
    spec = MODELS[name]
    model = spec.build(model_batch)
    rng = np.random.default_rng(0)
    n = STEPS * batch
    x = rng.standard_normal((n, *spec.input_shape), dtype=np.float32)
    y = np.eye(spec.classes, dtype=np.float32)[rng.integers(0, spec.classes, n)]
    return request.param, model, batch, x, y


def _run(benchmark, name, epoch):
    """Times `epoch()` (STEPS steps, returns their losses) and checks it trained."""
    benchmark.group = f"{STEPS} train steps: {name}"
    first = epoch()
    benchmark.pedantic(epoch, rounds=15, iterations=1, warmup_rounds=2)
    last = epoch()
    benchmark.extra_info["us_per_step"] = benchmark.stats.stats.median * 1e6 / STEPS
    assert np.mean(last) < np.mean(first), "the timed steps did not train"


def test_litetrain_fit(benchmark, case):
    name, model, batch, x, y = case
    trainer = litetrain.Trainer(model)
    _run(benchmark, name, lambda: trainer.fit(x, y, batch_size=batch, shuffle=False, progress=False).losses)


def test_litetrain_runner_loop(benchmark, case):
    name, model, batch, x, y = case
    train = litetrain.Model(model).runner("train")
    batches = [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]
    _run(benchmark, name, lambda: [float(train(x=bx, y=by)["loss"]) for bx, by in batches])


def test_interpreter_loop(benchmark, case):
    name, model, batch, x, y = case
    interpreter = Interpreter(model_content=model)
    if CASES[name][1] is None:
        interpreter.resize_tensor_input(
            interpreter.get_signature_runner("train").get_input_details()["x"]["index"], [batch, x.shape[1]]
        )
    train = interpreter.get_signature_runner("train")
    batches = [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]
    _run(benchmark, name, lambda: [float(train(x=bx, y=by)["loss"]) for bx, by in batches])
