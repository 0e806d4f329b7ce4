"""Training files made outside litetrain, the way TensorFlow's on-device recipe
and Flower's Android BaseTFLiteModel make them: a tf.Module with its own
signatures, converted by TensorFlow."""

from __future__ import annotations

import numpy as np

from dynamic_shape_models import convert_module


def softmax_regression(tf, signatures=("train", "infer", "save", "restore"), flex: bool = False) -> bytes:
    """A 12 -> 3 softmax regression; `signatures` picks which of train / infer /
    save / parameters / restore the file has. With `flex`, the gradient goes
    through tf.nn.relu (ReluGrad: Flex) and the file is converted with
    SELECT_TF_OPS, as the recipe's guide does."""
    rng = np.random.default_rng(0)

    class Net(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(rng.uniform(-0.3, 0.3, (12, 3)).astype(np.float32), name="w")
            self.b = tf.Variable(np.zeros(3, np.float32), name="b")

        def logits(self, x):
            h = tf.matmul(x, self.w) + self.b
            return tf.nn.relu(h) if flex else h

    net = Net()
    xs = tf.TensorSpec([None, 12], tf.float32, name="x")

    @tf.function(input_signature=[xs, tf.TensorSpec([None, 3], tf.float32, name="y")])
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=net.logits(x)))
        for var, grad in zip([net.w, net.b], tape.gradient(loss, [net.w, net.b])):
            var.assign_sub(0.1 * grad)
        return {"loss": loss}

    @tf.function(input_signature=[xs])
    def infer(x):
        return {"logits": net.logits(x)}

    @tf.function(input_signature=[])
    def save():
        return {"w": tf.identity(net.w), "b": tf.identity(net.b)}

    @tf.function(
        input_signature=[tf.TensorSpec([12, 3], tf.float32, name="w"), tf.TensorSpec([3], tf.float32, name="b")]
    )
    def restore(w, b):
        net.w.assign(w)
        net.b.assign(b)
        return {"ok": tf.constant(True)}

    functions = {"train": train, "infer": infer, "save": save, "parameters": save, "restore": restore}
    chosen = {name: functions[name] for name in signatures}
    return convert_module(tf, net, chosen, flex=flex)
