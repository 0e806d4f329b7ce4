"""litetrain.convert: modules written for TensorFlow's on-device training recipe, as published,
become builtin-only training files that train, snapshot, checkpoint and bake."""

from __future__ import annotations

import numpy as np
import pytest

import litetrain
from conftest import build_host_import
from litetrain._reference_models import digits_dataset

tf = build_host_import("tensorflow", "TensorFlow to convert the modules")
import recipe_models  # noqa: E402

pytestmark = pytest.mark.needs_tensorflow


def _digits_28x28():
    """sklearn's digits, each 8x8 image scaled up 3x and padded to the guide's 28x28."""
    x_train, y_train, x_test, y_test = digits_dataset()

    def images(x):
        big = np.kron(x.reshape(-1, 8, 8), np.ones((3, 3), np.float32))
        return np.pad(big, ((0, 0), (2, 2), (2, 2))).astype(np.float32)

    n = len(x_train) // 32 * 32  # whole batches: every step sees 32 samples in both runtimes
    return images(x_train[:n]), y_train[:n], images(x_test), y_test


@pytest.fixture(scope="module")
def guide():
    module = recipe_models.on_device_training_guide(tf)
    return module, litetrain.convert(module)


@pytest.fixture(scope="module")
def flower():
    module = recipe_models.flower_base_tflite_model(tf)
    return module, litetrain.convert(module)


def _flex_ops(tflite: bytes) -> list[str]:
    return [op.name for op in litetrain.list_operators(tflite) if op.custom]


def _litert_losses(tflite: bytes, x, y, batch: int) -> list[float]:
    from ai_edge_litert.interpreter import Interpreter

    train = Interpreter(model_content=tflite).get_signature_runner("train")
    return [float(train(x=x[i : i + batch], y=y[i : i + batch])["loss"]) for i in range(0, len(x), batch)]


def test_the_guides_model_converts_to_builtin_ops_with_its_weights(guide):
    module, converted = guide
    assert _flex_ops(converted.tflite) == []
    assert "train: the gradient of Relu (ReluGrad) in builtin ops" in converted.rewrites
    assert any(line.startswith("save, restore: tf.raw_ops.Save / Restore") for line in converted.rewrites), (
        converted.rewrites
    )
    assert set(converted.signatures) == {"train", "infer", "save", "restore"}
    assert list(converted.signatures["save"].inputs) == []  # a checkpoint path no more
    fresh = litetrain.Trainer(converted.tflite).snapshot()
    keras_weights = {w.path.replace("/", "_"): w.numpy() for w in module.model.weights}
    assert set(fresh) == set(keras_weights)
    for name, value in keras_weights.items():
        np.testing.assert_array_equal(fresh[name], value, err_msg=name)


def test_the_guides_model_trains_as_litert_runs_it(guide):
    _, converted = guide
    x, y, x_test, y_test = _digits_28x28()
    trainer = converted.trainer()
    history = trainer.fit(x, y, batch_size=32, epochs=1, shuffle=False, progress=False)
    expected = _litert_losses(converted.tflite, x, y, 32)
    np.testing.assert_allclose(history.losses, expected, rtol=2e-5, atol=1e-6)
    history = trainer.fit(x, y, batch_size=32, epochs=9, progress=False)
    assert history.epoch_losses[-1] < history.epoch_losses[0] < expected[0]
    accuracy = np.mean(trainer.predict(x_test)["logits"].argmax(1) == y_test.argmax(1))
    assert accuracy > 0.8, accuracy


def test_the_guides_model_snapshots_checkpoints_and_bakes(guide, tmp_path):
    _, converted = guide
    x, y, x_test, _ = _digits_28x28()
    trainer = converted.trainer()
    trainer.fit(x, y, batch_size=32, epochs=1, progress=False)
    trained = trainer.snapshot()
    trainer.save_checkpoint(tmp_path / "ck.npz")
    resumed = converted.trainer()
    resumed.load_checkpoint(tmp_path / "ck.npz")
    for name, value in trained.items():
        np.testing.assert_array_equal(resumed.snapshot()[name], value, err_msg=name)

    baked = trainer.bake(tmp_path / "baked.tflite")
    for name, value in litetrain.Trainer(baked.path).snapshot().items():
        np.testing.assert_array_equal(value, trained[name], err_msg=name)
    inference = trainer.bake(tmp_path / "infer.tflite", inference_only=True)
    outputs = litetrain.Model(inference.path).runner("infer")(x=x_test[:7])
    np.testing.assert_allclose(outputs["logits"], trainer.predict(x_test[:7])["logits"], rtol=1e-5, atol=1e-6)


def test_flowers_base_tflite_model_converts_and_trains(flower, tmp_path):
    module, converted = flower
    assert _flex_ops(converted.tflite) == []
    assert set(converted.signatures) == {"train", "infer", "parameters", "restore"}
    # Keras 3's accuracy metric in train_step reaches BitwiseAnd through its argmax.
    assert "train: Keras' signbit (BitwiseAnd) in builtin ops" in converted.rewrites
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 14)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[(x[:, :4]).argmax(1)]  # a learnable rule
    trainer = converted.trainer()  # finds its weights in "parameters"
    fresh = trainer.snapshot()
    for index, weight in enumerate(module.model.weights):
        np.testing.assert_array_equal(fresh[f"a{index}"], weight.numpy())
    history = trainer.fit(x, y, batch_size=16, epochs=1, shuffle=False, progress=False)
    np.testing.assert_allclose(history.losses, _litert_losses(converted.tflite, x, y, 16), rtol=2e-5, atol=1e-6)
    history = trainer.fit(x, y, batch_size=16, epochs=60, progress=False)
    assert history.epoch_losses[-1] < 0.8 * history.epoch_losses[0]
    baked = trainer.bake(tmp_path / "flower.tflite")
    np.testing.assert_array_equal(litetrain.Model(baked.path).runner("parameters")()["a0"], trainer.snapshot()["a0"])


def test_an_earlier_trace_with_tensorflows_gradients_is_not_reused():
    module = recipe_models.on_device_training_guide(tf)
    x = np.zeros((2, 28, 28), np.float32)
    module.train(x, np.eye(10, dtype=np.float32)[[0, 1]])  # traced with TensorFlow's ReluGrad
    assert _flex_ops(litetrain.convert(module, {"train": module.train, "infer": module.infer}).tflite) == []


def test_broadcast_gradients_are_summed_as_tensorflow_sums_them():
    """Operands whose batch sizes are unknown while tracing: TensorFlow would decide the sums
    with BroadcastGradientArgs (Flex); the builtin form decides them while running."""

    class Broadcasting(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], name="a"), tf.TensorSpec([None, 3], name="b")])
        def grads(self, a, b):
            with tf.GradientTape() as tape:
                tape.watch([a, b])
                loss = tf.reduce_sum(tf.square(a * b - b) + a / (b * b + 1.0) + tf.maximum(a, b))
            ga, gb = tape.gradient(loss, [a, b])
            return {"ga": ga, "gb": gb}

    module = Broadcasting()
    converted = litetrain.convert(module)
    assert converted.rewrites == ["grads: the sums of broadcast gradients (BroadcastGradientArgs) in builtin ops"]
    runner = litetrain.Model(converted.tflite).runner("grads")
    rng = np.random.default_rng(3)
    for rows_a, rows_b in [(4, 4), (4, 1), (1, 4), (1, 1)]:
        a = rng.standard_normal((rows_a, 3)).astype(np.float32)
        b = rng.standard_normal((rows_b, 3)).astype(np.float32)
        expected = module.grads(tf.constant(a), tf.constant(b))
        got = runner(a=a, b=b)
        for key in ("ga", "gb"):
            np.testing.assert_allclose(
                got[key], expected[key].numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{key} {a.shape} {b.shape}"
            )


def test_the_builtin_activation_gradients_equal_tensorflows_at_the_kinks():
    class Activations(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([8], name="x")])
        def grads(self, x):
            out = {}
            for name, f in [
                ("relu", tf.nn.relu),
                ("relu6", tf.nn.relu6),
                ("leaky", lambda v: tf.nn.leaky_relu(v, 0.3)),
                ("elu", tf.nn.elu),
                ("selu", tf.nn.selu),
            ]:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = tf.reduce_sum(f(x) * tf.range(1.0, 9.0))
                out[name] = tape.gradient(y, x)
            return out

    module = Activations()
    converted = litetrain.convert(module)
    assert len(converted.rewrites) == 5, converted.rewrites
    x = np.array([-2.0, -1e-3, 0.0, 1e-3, 3.0, 6.0, 7.0, -0.0], np.float32)
    got = litetrain.Model(converted.tflite).runner("grads")(x=x)
    expected = module.grads(tf.constant(x))
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value.numpy(), rtol=1e-6, atol=0, err_msg=name)


def test_checkpoint_functions_that_do_more_are_refused():
    class SavesWhileTraining(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.ones([3]))

        @tf.function(input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([3])])
        def train(self, path, x):
            self.w.assign_add(x)
            tf.raw_ops.Save(filename=path, tensor_names=["w"], data=[self.w.read_value()])
            return {"w": self.w.read_value()}

    with pytest.raises(litetrain.BuildError, match=r"'train' writes a checkpoint file .* but does more than that"):
        litetrain.convert(SavesWhileTraining())


def test_what_cannot_be_rewritten_is_refused_by_name():
    class Convolution(tf.Module):
        def __init__(self):
            self.kernel = tf.Variable(tf.ones([2, 2, 1, 3]))

        @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 1]), tf.TensorSpec([None, 3])])
        def train(self, x, y):
            with tf.GradientTape() as tape:
                features = tf.reduce_mean(tf.nn.conv2d(x, self.kernel, 1, "VALID"), axis=[1, 2])
                loss = tf.reduce_mean(tf.square(features - y))
            self.kernel.assign_sub(0.1 * tape.gradient(loss, self.kernel))
            return {"loss": loss}

    with pytest.raises(litetrain.BuildError, match=r"not TFLite builtins: Conv2DBackpropFilter\. Write that part"):
        litetrain.convert(Convolution())


def test_bad_modules_get_a_message_that_says_the_fix():
    class Empty(tf.Module):
        pass

    with pytest.raises(litetrain.BuildError, match="has no tf.function to convert"):
        litetrain.convert(Empty())

    class Unsigned(tf.Module):
        def __init__(self):
            self.w = tf.Variable(1.0)

        @tf.function
        def train(self, x):
            return {"y": x * self.w}

    with pytest.raises(litetrain.BuildError, match=r"'train' has no input_signature: decorate it"):
        litetrain.convert(Unsigned())


def test_tensorflow_and_keras_are_left_as_they_were(guide):
    from keras.src.backend.tensorflow import numpy as keras_numpy
    from tensorflow.python.framework import ops

    from litetrain.tf.builtin_forms import BUILTIN_GRADIENTS

    assert keras_numpy.signbit.__module__ == "keras.src.backend.tensorflow.numpy"
    for op in BUILTIN_GRADIENTS:
        assert ops._gradient_registry.lookup(op).__module__ == "tensorflow.python.ops.nn_grad", op
