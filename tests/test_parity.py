"""litetrain runs the same training steps as ai_edge_litert's Interpreter."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import litetrain
from conftest import training_batches

STEPS = 50


@pytest.mark.parametrize(
    "model_fixture, batch", [("mlp_fixed_path", 8), ("mlp_dynamic_path", 8), ("mlp_dynamic_path", 5)]
)
def test_fifty_train_steps_match_the_interpreter(request, model_fixture, batch):
    path = request.getfixturevalue(model_fixture)
    batches = training_batches(STEPS, batch, seed=3)

    model = litetrain.Model(path)
    train = model.runner("train")
    ours = np.array([train(x=x, y=y)["loss"] for x, y in batches])
    our_weights = model.runner("save")()

    interpreter = Interpreter(model_path=str(path))
    their_train = interpreter.get_signature_runner("train")
    theirs = np.array([their_train(x=x, y=y)["loss"] for x, y in batches])
    their_weights = interpreter.get_signature_runner("save")()

    assert ours[-1] < ours[0]  # it trained
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert set(our_weights) == set(their_weights)
    for name in our_weights:
        np.testing.assert_allclose(our_weights[name], their_weights[name], rtol=1e-6, atol=1e-7, err_msg=name)
