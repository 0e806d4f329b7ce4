"""Small training models written directly in TensorFlow, for tests and the demo.

Each model is a ``tf.Module`` of plain ``tf.Variable``s (Keras 3 layers inside
a module lose their weights on conversion) with four signatures, converted to
a ``.tflite`` of TFLite builtin ops only, so that the stock LiteRT runtime runs
it without the Flex delegate:

- ``train(x, y) -> {"loss", "accuracy"}``: one SGD step on the mean softmax
  cross-entropy, and the batch's accuracy before the step;
- ``eval(x, y) -> {"loss", "accuracy"}``: the same loss, no update;
- ``infer(x) -> {"logits"}``;
- ``save() -> {"w0", "b0", "w1", ...}``: every variable by a stable name;
- ``restore(w0=..., b0=..., ...) -> {"ok"}``: assigns them.

With ``settable_learning_rate=True`` the SGD step size is a variable (not
among the saved weights: it is a setting, not a weight) and two more
signatures follow the contract :meth:`litetrain.Trainer.set_learning_rate`
expects:

- ``set_learning_rate(learning_rate: float32[]) -> {"learning_rate": float32[1]}``;
- ``get_learning_rate() -> {"learning_rate": float32[1]}``.

The outputs have shape [1], not []: READ_VARIABLE makes a scalar output a
dynamic tensor, and LiteRT's compiled model cannot bind a dynamic output
("subgraph.cc ... allocation_type == kTfLiteArenaRw ... was not true").

Pass inputs by name: their order depends on who lists them. The file's
signature defs sort them by name (``train``: x, y), which the Interpreter
shows; the subgraphs hold them in reverse (``train``: y, x; ``restore``:
w1, b1, w0, b0), which the LiteRT C API and ``CompiledModel`` show.

Models of users come from :func:`litetrain.build`; these hand-written modules
are the tests' fixed reference, independent of the builder. Their initial
weights, the table of test models and the digits data need no TensorFlow:
they are in :mod:`litetrain._reference_models`.
"""

from __future__ import annotations

import tempfile
from typing import Sequence

import numpy as np
import tensorflow as tf

from litetrain._reference_models import mlp_initial_weights


def mlp_training_model(
    layer_sizes: Sequence[int] = (32, 16, 4),
    *,
    batch_size: int | None = 8,
    learning_rate: float = 0.1,
    seed: int = 0,
    accuracy: bool = True,
    settable_learning_rate: bool = False,
    steps_per_run: int = 1,
) -> bytes:
    """Builds a trainable MLP (ReLU hidden layers, logits out, SGD) as ``.tflite`` bytes.

    Args:
        layer_sizes: Input width, hidden widths, number of classes.
        batch_size: The batch dimension of every signature; None makes it dynamic.
        learning_rate: The SGD step size (its initial value if settable).
        seed: Seed of the initial weights (see :func:`mlp_initial_weights`).
        accuracy: Whether train/eval also output the batch accuracy.
        settable_learning_rate: Keep the step size in a variable with
            ``set_learning_rate`` / ``get_learning_rate`` signatures; else it
            is a constant of the graph.
        steps_per_run: > 1 adds ``train_steps``, that many steps of ``train``
            per run (inputs [steps_per_run, batch, ...]; a fixed batch needed).

    Returns:
        The model file's bytes.
    """
    if len(layer_sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {tuple(layer_sizes)}")
    initial = mlp_initial_weights(layer_sizes, seed)
    names = list(initial)

    def _accuracy(logits, y):
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=1), tf.argmax(y, axis=1)), tf.float32)
        return tf.reduce_mean(hits)

    @tf.custom_gradient
    def relu(x):
        # tf.nn.relu's gradient is ReluGrad, which needs Flex; this one is builtin.
        def grad(dy):
            return tf.where(x > 0, dy, tf.zeros_like(dy))

        return tf.maximum(x, 0.0), grad

    class MLP(tf.Module):
        def __init__(self):
            super().__init__()
            self.vars = {name: tf.Variable(value, name=name) for name, value in initial.items()}
            if settable_learning_rate:
                self.learning_rate = tf.Variable(np.float32(learning_rate), name="learning_rate")

        def logits(self, x):
            layers = len(layer_sizes) - 1
            for i in range(layers):
                x = tf.matmul(x, self.vars[f"w{i}"]) + self.vars[f"b{i}"]
                if i < layers - 1:
                    x = relu(x)
            return x

    module = MLP()
    x_spec = tf.TensorSpec([batch_size, layer_sizes[0]], tf.float32, name="x")
    y_spec = tf.TensorSpec([batch_size, layer_sizes[-1]], tf.float32, name="y")

    def step(x, y):
        with tf.GradientTape() as tape:
            logits = module.logits(x)
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
        variables = [module.vars[n] for n in names]
        rate = module.learning_rate if settable_learning_rate else learning_rate
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            var.assign_sub(rate * grad)
        return {"loss": loss, "accuracy": _accuracy(logits, y)} if accuracy else {"loss": loss}

    @tf.function(input_signature=[x_spec, y_spec])
    def train(x, y):
        return step(x, y)

    k = steps_per_run
    steps_specs = [tf.TensorSpec([k, *s.shape], tf.float32, name=s.name) for s in (x_spec, y_spec)]

    @tf.function(input_signature=steps_specs)
    def train_steps(xs, ys):
        outputs = [step(xs[i], ys[i]) for i in range(k)]
        return {name: tf.stack([o[name] for o in outputs]) for name in outputs[0]}

    @tf.function(input_signature=[x_spec, y_spec])
    def evaluate(x, y):
        logits = module.logits(x)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
        return {"loss": loss, "accuracy": _accuracy(logits, y)}

    @tf.function(input_signature=[x_spec])
    def infer(x):
        return {"logits": module.logits(x)}

    @tf.function(input_signature=[])
    def save():
        return {name: tf.identity(module.vars[name]) for name in names}

    restore_specs = [tf.TensorSpec(v.shape, tf.float32, name=n) for n, v in initial.items()]

    @tf.function(input_signature=restore_specs)
    def restore(*values):
        for name, value in zip(names, values):
            module.vars[name].assign(value)
        # With no outputs the converter keeps the signature but prunes the
        # assignments as dead code (0 ops: restore silently does nothing), so
        # return a constant; the assignments are then kept.
        return {"ok": tf.constant(True)}

    signatures = {"train": train, "eval": evaluate, "infer": infer, "save": save, "restore": restore}
    if steps_per_run > 1:
        signatures["train_steps"] = train_steps
    if settable_learning_rate:

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="learning_rate")])
        def set_learning_rate(value):
            module.learning_rate.assign(value)
            return {"learning_rate": tf.reshape(module.learning_rate, [1])}  # an output keeps the assignment

        @tf.function(input_signature=[])
        def get_learning_rate():
            return {"learning_rate": tf.reshape(module.learning_rate, [1])}

        signatures.update(set_learning_rate=set_learning_rate, get_learning_rate=get_learning_rate)
    with tempfile.TemporaryDirectory(prefix="litetrain-model-") as saved_model:
        tf.saved_model.save(module, saved_model, signatures=signatures)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=list(signatures))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.experimental_enable_resource_variables = True
        return converter.convert()
