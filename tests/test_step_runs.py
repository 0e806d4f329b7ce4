"""Several steps per run: the ``train_steps`` signature litetrain.build adds to
models whose step is cheap, and Trainer.fit running it. The same arithmetic as
single steps, bit for bit, with LiteRT's cost per run paid once per run."""

from __future__ import annotations

import litetrain
import numpy as np
import pytest
from conftest import build_host_import
from litetrain._reference_models import digits_dataset

keras = build_host_import("keras", "litetrain.build")
L = keras.layers


def digits_mlp():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((64,)), L.Dense(32, activation="relu"), L.Dense(10, name="logits")])


@pytest.fixture(scope="module")
def cheap():
    """A digits MLP at batch 16: cheap, so built with train_steps (8 steps per run)."""
    return litetrain.build(
        digits_mlp(), "categorical_crossentropy", litetrain.optim.SGD(0.1), batch_size=16, from_logits=True
    )


def test_a_cheap_step_gets_runs_of_eight_steps(cheap):
    steps = cheap.signatures["train_steps"]
    assert steps.inputs["x"].shape == (8, 16, 64) and steps.inputs["y"].shape == (8, 16, 10)
    assert steps.outputs["loss"].shape == (8,) and steps.outputs["accuracy"].shape == (8,)


def test_runs_of_steps_train_bit_for_bit_as_single_steps(cheap):
    x, y, _, _ = digits_dataset()
    n = 16 * 50  # 50 batches: 6 runs of 8 steps and 2 single steps per epoch
    histories, weights = [], []
    for multi_step in (True, False):
        trainer = litetrain.Trainer(cheap.tflite, multi_step=multi_step)
        histories.append(trainer.fit(x[:n], y[:n], batch_size=16, epochs=3, seed=5, progress=False))
        weights.append(trainer.snapshot())
    runs, single = histories
    assert runs.steps == single.steps == 150 and single.runs == 150
    assert runs.runs == 3 * (6 + 2)
    np.testing.assert_array_equal(runs.losses, single.losses)
    assert runs.history == single.history
    for name, value in weights[1].items():
        np.testing.assert_array_equal(weights[0][name], value, err_msg=name)


def test_a_run_of_steps_stays_inside_xnnpack(cheap):
    profile = litetrain.profile(cheap.tflite, "train_steps", runs=3)
    outside = {op.op for op in profile.operators if not op.in_xnnpack}
    # The accuracy metric (ARG_MAX, EQUAL, CAST) has no XNNPACK kernel; the
    # steps themselves have no operator outside.
    assert outside <= {"CALL_ONCE", "ARG_MAX", "EQUAL", "CAST"}, profile.describe()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps_per_run": 0, "batch_size": 8}, ValueError, "steps_per_run must be >= 1"),
        ({"steps_per_run": 2.0, "batch_size": 8}, ValueError, "steps_per_run must be an int"),
        ({"steps_per_run": 4}, litetrain.BuildError, "steps_per_run=4 needs a fixed batch_size"),
    ],
)
def test_steps_per_run_is_checked(kwargs, error, message):
    with pytest.raises(error, match=message):
        litetrain.build(digits_mlp(), "categorical_crossentropy", litetrain.optim.SGD(0.1), **kwargs)


def test_no_runs_of_steps_where_they_would_differ_or_not_pay():
    def build(model, **kwargs):
        return litetrain.build(model, "categorical_crossentropy", litetrain.optim.SGD(0.1), from_logits=True, **kwargs)

    assert "train_steps" not in build(digits_mlp(), batch_size=16, steps_per_run=1).signatures
    assert "train_steps" not in build(digits_mlp(), batch_size=None).signatures
    wide = keras.Sequential([keras.Input((784,)), L.Dense(512, activation="relu"), L.Dense(10)])
    assert "train_steps" not in build(wide, batch_size=32).signatures  # an expensive step: nothing to save
    assert "train_steps" in build(wide, batch_size=32, steps_per_run=2).signatures
    dropout = keras.Sequential([keras.Input((64,)), L.Dense(8), L.Dropout(0.5), L.Dense(10)])
    assert "train_steps" not in build(dropout, batch_size=16).signatures  # each copy would draw its own masks
    with pytest.raises(litetrain.BuildError, match="needs a model without Dropout"):
        build(dropout, batch_size=16, steps_per_run=4)


def test_a_steps_signature_that_is_not_one_is_refused(tmp_path):
    tf = build_host_import("tensorflow", "a model converted with TensorFlow")

    class Module(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.ones([4, 2]))

        def step(self, x, y):
            loss = tf.reduce_mean(tf.square(tf.matmul(x, self.w) - y))
            self.w.assign_sub(0.01 * tf.ones([4, 2]))
            return {"loss": loss}

    module = Module()
    spec = [tf.TensorSpec([8, 4], tf.float32, name="x"), tf.TensorSpec([8, 2], tf.float32, name="y")]
    signatures = {
        "train": tf.function(module.step, input_signature=spec),
        # Named like K steps of train, but one step of another shape.
        "train_steps": tf.function(module.step, input_signature=spec),
    }
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures=signatures)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved"), signature_keys=list(signatures))
    converter.experimental_enable_resource_variables = True
    model = converter.convert()
    with pytest.raises(ValueError, match=r"signature 'train_steps' is not K steps of 'train'.*multi_step=False"):
        litetrain.Trainer(model)
    trainer = litetrain.Trainer(model, multi_step=False)
    history = trainer.fit(np.ones((16, 4), np.float32), np.zeros((16, 2), np.float32), batch_size=8, progress=False)
    assert history.steps == history.runs == 2
