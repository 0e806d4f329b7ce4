"""The ways to train a step that the suite times, each as a runner:
``runner(steps) -> seconds`` runs `steps` training steps over the case's
batches (batch ``i % n`` at step ``i``, from the first batch on every call,
so every call of a system sees the same data) and returns the wall time it
measured around its own loop. Each runner records the mean loss of each call,
so that the suite can tell whether the timed steps trained.

Every system gets its own copy of the model (its own weights), the same
initial weights, the same batches, the same SGD step and thread count.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import litetrain
from litetrain import _core

# family: "limit" (a gathering loop at its fastest), "litetrain" (ours), "litert" (other
# front ends of the ai-edge-litert release we run on, so only overhead can
# differ: gated against ours), or "tensorflow" (TensorFlow, and the TFLite
# runtime bundled in it, whose XNNPACK build differs: listed, not gated), or
# "onnxruntime" (ONNX Runtime training: another runtime, listed, not gated).
SYSTEMS: dict[str, tuple[str, str]] = {
    "limit": ("limit (C++ loop: copy the batch in, run)", "limit"),
    "litetrain_fit": ("litetrain Trainer.fit", "litetrain"),
    "cpp_fit": ("C++ Trainer::Fit", "litetrain"),
    "litert_interpreter": ("ai_edge_litert Interpreter loop", "litert"),
    "litert_compiled_model": ("ai_edge_litert CompiledModel loop", "litert"),
    "tflite_interpreter": ("tf.lite.Interpreter loop", "tensorflow"),
    "tf_function": ("TensorFlow tf.function step", "tensorflow"),
    "keras_train_on_batch": ("Keras train_on_batch", "tensorflow"),
    "ort_training": ("ONNX Runtime training", "onnxruntime"),
}
# The systems that train the .tflite through another front end, as its users
# would. The file as built is tuned for litetrain's CPU options, which those
# front ends' defaults do not set, so each is timed on it and on the file
# built with portable=True, and its faster file counts.
FILE_PEERS = ("litert_interpreter", "litert_compiled_model", "tflite_interpreter")
# ort_training takes its initial weights from the Keras model.
NEEDS_TENSORFLOW = {"tflite_interpreter", "tf_function", "keras_train_on_batch", "ort_training"}
NEEDS_ONNXRUNTIME = {"ort_training"}
NOT_INSTALLED = "TensorFlow is not installed"


@dataclass
class Case:
    """One model at one batch size and thread count, with its data."""

    model_bytes: bytes
    batch: int
    threads: int
    x: np.ndarray  # [n * batch, ...]
    y: np.ndarray  # [n * batch, classes]
    keras: Callable[[], object] | None = None  # the same model in Keras, same init
    batches: list[tuple[np.ndarray, np.ndarray]] = field(init=False)

    def __post_init__(self) -> None:
        b = self.batch
        self.batches = [(self.x[i : i + b], self.y[i : i + b]) for i in range(0, len(self.x), b)]


class Runner:
    """A timed system: call it with a step count; `losses` has one mean per call."""

    def __init__(self, run: Callable[[int], tuple[float, float]]) -> None:
        self._run = run
        self.losses: list[float] = []

    def __call__(self, steps: int) -> float:
        seconds, loss = self._run(steps)
        self.losses.append(loss)
        return seconds


def make_runner(system: str, case: Case) -> Runner:
    """A runner for `system` (a key of :data:`SYSTEMS`) on `case`."""
    return Runner(_FACTORIES[system](case))


def _cycle(case: Case, steps: int):
    """The batches of `steps` steps: 0, 1, ..., n-1, 0, 1, ..."""
    n = len(case.batches)
    return (case.batches[i % n] for i in range(steps))


# --- on LiteRT ---------------------------------------------------------------


def _limit(case: Case):
    # A loop that gathers its batches at its fastest: copy the step's batch
    # into inputs bound once, run (cpp/bench/bare_step_loop.h says why).
    # A model with train_steps (K steps per run, which Trainer.fit runs) is
    # timed through it: K batches per run, a run counting as K steps.
    model = litetrain.Model(case.model_bytes, threads=case.threads)
    steps_key = "train" + _core.STEPS_SIGNATURE_SUFFIX
    if steps_key in model.signatures:
        k = model.signatures[steps_key].inputs["x"].shape[0]
        picked = [case.batches[i % len(case.batches)] for i in range(max(len(case.batches) // k, 1) * k)]
        data = {"x": np.stack([x for x, _ in picked]), "y": np.stack([y for _, y in picked])}
        loop = _core.BareStepLoop(model._native, steps_key, data, k)
    else:
        k = 1
        loop = _core.BareStepLoop(model._native, "train", {"x": case.x, "y": case.y}, case.batch)

    def run(steps: int):
        runs = -(-steps // k)
        seconds = loop.run(runs) * steps / (runs * k)
        # Every call starts at batch 0 and rounds have one step count: the
        # last run's losses compare across rounds.
        return seconds, float(np.mean(loop.output("loss")))

    return run


def _fit_plan(case: Case, steps: int):
    """(arrays, epochs) calls that make exactly `steps` steps of fit: whole
    epochs over every batch, then one epoch over the first few batches."""
    n = len(case.batches)
    plan = []
    if steps // n:
        plan.append(({"x": case.x, "y": case.y}, steps // n))
    if steps % n:
        k = (steps % n) * case.batch
        plan.append(({"x": case.x[:k], "y": case.y[:k]}, 1))
    return plan


def _litetrain_fit(case: Case):
    trainer = litetrain.Trainer(case.model_bytes, threads=case.threads)

    def run(steps: int):
        plan = _fit_plan(case, steps)
        losses = []
        started = time.perf_counter()
        for arrays, epochs in plan:
            history = trainer.fit(arrays, batch_size=case.batch, epochs=epochs, shuffle=False, progress=False)
            losses.append(history.losses)
        seconds = time.perf_counter() - started
        return seconds, float(np.mean(np.concatenate(losses)))

    return run


def _cpp_fit(case: Case):
    # The native Trainer::Fit, as a C++ host calls it: timed by its own clock
    # (FitResult.seconds), without the Python wrapper's argument handling.
    native = litetrain.Trainer(case.model_bytes, threads=case.threads)._native
    epoch = [0]

    def run(steps: int):
        seconds, losses = 0.0, []
        for arrays, epochs in _fit_plan(case, steps):
            options = _core.FitOptions()
            options.batch_size, options.epochs, options.initial_epoch, options.shuffle = (
                case.batch,
                epochs,
                epoch[0],
                False,
            )
            result = native.fit(arrays, options, validation=None, callback=None, on_epoch_end=None, handle_sigint=False)
            epoch[0] += epochs
            seconds += result.seconds
            losses.append(np.asarray(result.losses))
        return seconds, float(np.mean(np.concatenate(losses)))

    return run


def _python_loop(case: Case, step: Callable[[np.ndarray, np.ndarray], float]):
    def run(steps: int):
        total = 0.0
        started = time.perf_counter()
        for x, y in _cycle(case, steps):
            total += step(x, y)
        return time.perf_counter() - started, total / steps

    return run


def _litert_interpreter(case: Case):
    from ai_edge_litert.interpreter import Interpreter

    train = Interpreter(model_content=case.model_bytes, num_threads=case.threads).get_signature_runner("train")
    return _python_loop(case, lambda x, y: float(train(x=x, y=y)["loss"]))


def _litert_compiled_model(case: Case):
    from ai_edge_litert.compiled_model import (
        CompiledModel,
        CpuOptions,
        HardwareAccelerator,
        Options,
    )

    options = Options(hardware_accelerators=HardwareAccelerator.CPU, cpu_options=CpuOptions(num_threads=case.threads))
    model = CompiledModel.from_buffer(case.model_bytes, options=options)
    index = model.get_signature_index("train")
    names = model.get_signature_list()["train"]
    # Buffers made once, as the API intends; each step writes its batch into them.
    inputs = model.create_input_buffers(index)
    outputs = model.create_output_buffers(index)
    x_buffer, y_buffer = inputs[names["inputs"].index("x")], inputs[names["inputs"].index("y")]
    loss_buffer = outputs[names["outputs"].index("loss")]

    def step(x, y):
        x_buffer.write(x)
        y_buffer.write(y)
        model.run_by_index(index, inputs, outputs)
        return float(loss_buffer.read(1, np.float32)[0])

    return _python_loop(case, step)


# --- on TensorFlow -------------------------------------------------------------


def _tensorflow():
    from litetrain.tf import tensorflow

    return tensorflow


def _tflite_interpreter(case: Case):
    tf = _tensorflow()
    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated": we know, that is the point
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=case.model_bytes, num_threads=case.threads)
    train = interpreter.get_signature_runner("train")
    return _python_loop(case, lambda x, y: float(train(x=x, y=y)["loss"]))


def _keras_loss(tf):
    return tf.keras.losses.CategoricalCrossentropy(from_logits=True)


def _tf_function(case: Case):
    tf = _tensorflow()
    model = case.keras()
    optimizer = tf.keras.optimizers.SGD(learning_rate=_learning_rate())
    loss_fn = _keras_loss(tf)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    # Tensors made once: TensorFlow's best case, no conversion per step.
    tensors = [(tf.constant(x), tf.constant(y)) for x, y in case.batches]
    n = len(tensors)

    def run(steps: int):
        total = 0.0
        started = time.perf_counter()
        for i in range(steps):
            total += float(train_step(*tensors[i % n]))
        return time.perf_counter() - started, total / steps

    return run


def _keras_train_on_batch(case: Case):
    tf = _tensorflow()
    model = case.keras()
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=_learning_rate()), loss=_keras_loss(tf))
    return _python_loop(case, lambda x, y: float(model.train_on_batch(x, y)))


def _ort_training(case: Case):
    from litetrain.bench import onnx_peer

    trainer = onnx_peer.Trainer(case.keras(), case.batch, _learning_rate(), case.threads)
    # Class indices, as ORT's cross-entropy takes them, made once outside the loop.
    batches = [(np.ascontiguousarray(x), np.argmax(y, axis=1).astype(np.int64)) for x, y in case.batches]
    n = len(batches)

    def run(steps: int):
        total = 0.0
        started = time.perf_counter()
        for i in range(steps):
            total += trainer.step(*batches[i % n])
        return time.perf_counter() - started, total / steps

    return run


def _learning_rate() -> float:
    from litetrain.bench.models import LEARNING_RATE

    return LEARNING_RATE


_FACTORIES = {
    "limit": _limit,
    "litetrain_fit": _litetrain_fit,
    "cpp_fit": _cpp_fit,
    "litert_interpreter": _litert_interpreter,
    "litert_compiled_model": _litert_compiled_model,
    "tflite_interpreter": _tflite_interpreter,
    "tf_function": _tf_function,
    "keras_train_on_batch": _keras_train_on_batch,
    "ort_training": _ort_training,
}
