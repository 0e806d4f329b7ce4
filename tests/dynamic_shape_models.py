"""The three models of issue 17 whose output shape LiteRT computes at run time.

Each reshapes its input with a shape computed from the input's own shape
(SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE): TFLite only knows the shapes of
the ops after that RESHAPE once it has run, so output buffers sized after a
resize are too small at any batch but the converted one.
"""

from __future__ import annotations

import tempfile

import numpy as np


def convert_module(tf, module, signatures, *, flex: bool = False) -> bytes:
    """A tf.Module's tf.functions as a .tflite with resource variables, the
    way TensorFlow's on-device training guide converts them (builtins only,
    or with Flex ops too)."""
    with tempfile.TemporaryDirectory(prefix="litetrain-module-") as saved_model:
        tf.saved_model.save(module, saved_model, signatures=signatures)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=list(signatures))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS] + (
            [tf.lite.OpsSet.SELECT_TF_OPS] if flex else []
        )
        converter.experimental_enable_resource_variables = True
        return converter.convert()


def keras_flatten(tf, keras) -> bytes:
    """``Sequential([Input((28, 28)), Flatten(), Dense(10)])`` from_keras_model."""
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def reshape_training(tf) -> bytes:
    """train/infer/save/restore on plain variables; infer and train reshape
    with ``tf.reshape(x, [tf.shape(x)[0], -1])``. x: [-1, 4, 4], 3 classes."""
    rng = np.random.default_rng(0)

    class Net(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(rng.uniform(-0.3, 0.3, (16, 3)).astype(np.float32), name="w")
            self.b = tf.Variable(np.full(3, 0.01, np.float32), name="b")

        def logits(self, x):
            return tf.matmul(tf.reshape(x, [tf.shape(x)[0], -1]), self.w) + self.b

    net = Net()
    xs = tf.TensorSpec([None, 4, 4], tf.float32, name="x")
    ys = tf.TensorSpec([None, 3], tf.float32, name="y")

    @tf.function(input_signature=[xs, ys])
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=net.logits(x)))
        variables = [net.w, net.b]
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            var.assign_sub(0.1 * grad)
        return {"loss": loss}

    @tf.function(input_signature=[xs])
    def infer(x):
        return {"logits": net.logits(x)}

    @tf.function(input_signature=[])
    def save():
        return {"w": tf.identity(net.w), "b": tf.identity(net.b)}

    @tf.function(
        input_signature=[tf.TensorSpec([16, 3], tf.float32, name="w"), tf.TensorSpec([3], tf.float32, name="b")]
    )
    def restore(w, b):
        net.w.assign(w)
        net.b.assign(b)
        return {"ok": tf.constant(True)}  # an output keeps the assignments

    return convert_module(tf, net, dict(train=train, infer=infer, save=save, restore=restore))


def keras_layer_module(tf, keras) -> bytes:
    """A tf.Module holding Keras Flatten + Dense(10): its variables convert
    uninitialised (the TensorFlow trap in DESIGN.md); restore(kernel, bias)
    gives them values. x: [-1, 28, 28]."""

    class Net(tf.Module):
        def __init__(self):
            super().__init__()
            self.flat = keras.layers.Flatten()
            self.dense = keras.layers.Dense(10)
            self.dense.build((None, 784))

    net = Net()
    xs = tf.TensorSpec([None, 28, 28], tf.float32, name="x")
    ys = tf.TensorSpec([None, 10], tf.float32, name="y")

    @tf.function(input_signature=[xs, ys])
    def train(x, y):
        with tf.GradientTape() as tape:
            logits = net.dense(net.flat(x))
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
        variables = net.dense.trainable_variables
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            var.assign_sub(0.1 * grad)
        return {"loss": loss}

    @tf.function(input_signature=[xs])
    def infer(x):
        return {"logits": net.dense(net.flat(x))}

    @tf.function(input_signature=[])
    def save():
        return {"kernel": tf.identity(net.dense.kernel), "bias": tf.identity(net.dense.bias)}

    @tf.function(
        input_signature=[
            tf.TensorSpec([784, 10], tf.float32, name="kernel"),
            tf.TensorSpec([10], tf.float32, name="bias"),
        ]
    )
    def restore(kernel, bias):
        net.dense.kernel.assign(kernel)
        net.dense.bias.assign(bias)
        return {"ok": tf.constant(True)}

    return convert_module(tf, net, dict(train=train, infer=infer, save=save, restore=restore))
