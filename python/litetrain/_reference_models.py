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
are the tests' fixed reference, independent of the builder (and the digits data
of the tests and the demo). TensorFlow is imported lazily: training never needs it.
"""

from __future__ import annotations

import os
import tempfile
from typing import Sequence

import numpy as np


# The models the test suites train, by file stem. tools/make_test_models.py
# writes them (with TensorFlow) for runs that have none: the C++ tests, and
# pytest on a target machine (LITETRAIN_TEST_MODELS, see tests/conftest.py).
TEST_MODELS = {
    "mlp_fixed": {"layer_sizes": (32, 16, 4), "batch_size": 8},
    "mlp_dynamic": {"layer_sizes": (32, 16, 4), "batch_size": None},
    "mlp_digits": {"layer_sizes": (64, 32, 10), "batch_size": None, "learning_rate": 0.1},
    # Two equal initial biases: the converter stores them as one constant (bake's tests).
    "mlp_shared_init": {"layer_sizes": (32, 16, 16, 4), "batch_size": 8},
    # The dynamic-batch MLP with set_learning_rate / get_learning_rate signatures.
    "mlp_settable_lr": {"layer_sizes": (32, 16, 4), "batch_size": None, "settable_learning_rate": True},
}


def mlp_initial_weights(layer_sizes: Sequence[int] = (32, 16, 4), seed: int = 0) -> dict[str, np.ndarray]:
    """The initial weights of :func:`mlp_training_model`, by variable name.

    Glorot-uniform kernels and small non-zero biases (so that tests see them),
    drawn from ``numpy.random.default_rng(seed)``.

    Args:
        layer_sizes: Input width, hidden widths, number of classes.
        seed: Seed of the random generator.

    Returns:
        ``{"w0": [in, h0], "b0": [h0], "w1": ..., ...}``, float32 arrays.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights[f"w{i}"] = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        weights[f"b{i}"] = np.full(fan_out, 0.01, np.float32)
    return weights


def _import_tensorflow():
    from litetrain.builder import import_tensorflow

    return import_tensorflow()


def mlp_training_model(
    layer_sizes: Sequence[int] = (32, 16, 4),
    *,
    batch_size: int | None = 8,
    learning_rate: float = 0.1,
    seed: int = 0,
    accuracy: bool = True,
    settable_learning_rate: bool = False,
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

    Returns:
        The model file's bytes.
    """
    if len(layer_sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {tuple(layer_sizes)}")
    tf = _import_tensorflow()
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

    @tf.function(input_signature=[x_spec, y_spec])
    def train(x, y):
        with tf.GradientTape() as tape:
            logits = module.logits(x)
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
        variables = [module.vars[n] for n in names]
        step = module.learning_rate if settable_learning_rate else learning_rate
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            var.assign_sub(step * grad)
        return {"loss": loss, "accuracy": _accuracy(logits, y)} if accuracy else {"loss": loss}

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


def digits_dataset(seed: int = 0, test_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sklearn.datasets.load_digits`` (ships with scikit-learn: no download).

    Args:
        seed: Seed of the shuffle before the split.
        test_fraction: Fraction of the 1797 images held out for testing.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 features scaled to
        [0, 1] (64 per image) and one-hot float32 labels (10 classes), split by
        a seeded shuffle.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[digits.target]
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def digits_fit_result(
    model: bytes | str | os.PathLike, *, epochs: int = 20, batch_size: int = 32, seed: int = 7
) -> dict:
    """Trains the ``mlp_digits`` test model on digits with ``Trainer.fit``.

    What one machine records and another must reproduce (tests/test_cross_machine.py):
    the same model file, data, seed and steps on another CPU or build.

    Returns:
        ``{"machine", "accuracy", "epoch_losses", "losses", "steps",
        "test_samples"}``: the processor it ran on, the test accuracy after
        training, the mean loss of each epoch, every step's loss, the counts
        (plain values, JSON-ready).
    """
    import platform

    import litetrain

    x, y, x_test, y_test = digits_dataset(seed=0)
    trainer = litetrain.Trainer(model)
    history = trainer.fit(x, y, batch_size=batch_size, epochs=epochs, seed=seed, progress=False)
    logits = trainer.predict(x_test)["logits"]
    return {
        "machine": f"{platform.machine()} {_cpu_model()}".strip(),
        "accuracy": float(np.mean(logits.argmax(1) == y_test.argmax(1))),
        "epoch_losses": [float(v) for v in history.epoch_losses],
        "losses": [float(v) for v in history.losses],
        "steps": history.steps,
        "test_samples": len(x_test),
    }


def _cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (x86 "model name", Arm "CPU part"), or ""."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            lines = cpuinfo.read().splitlines()
    except OSError:
        return ""
    for key in ("model name", "CPU part"):
        for line in lines:
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return ""
