"""The training graph: a tf.Module with train / eval / infer / save / restore /
learning-rate signatures over plain tf.Variables, converted to builtin-only TFLite.

Keras 3 layers inside a tf.Module lose their weights on conversion (see
DESIGN.md), so the graph never calls the Keras layers: it re-expresses each
one (litetrain.tf.builder.layers) over variables of its own, initialised from the
Keras weights.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from litetrain._core import STEPS_SIGNATURE_SUFFIX  # the name Trainer.fit looks for
from litetrain.errors import BuildError
from litetrain.trainer import FEATURES, TRAIN_ON_FEATURES  # the names Trainer.fit looks for
from litetrain.tf.builder import frozen, layers, losses, updates
from litetrain.tf.builder.concat import concat
from litetrain.tf.builder.weights import Weight


@dataclass
class GraphSpec:
    """Everything the signatures need, decided before tracing."""

    model: object  # the Keras model
    weights: dict[int, Weight]  # id(keras variable) -> Weight
    loss: losses.Loss
    optimizer: object
    batch_size: int | None
    metrics: tuple[str, ...]
    input_names: list[str]
    output_names: list[str]
    input_shapes: list[tuple]  # per input, without the batch dimension
    output_shape: tuple  # without the batch dimension
    seed: int = 0
    # For a tf.Module model: its trainable tf.Variables by save/restore name
    # (they are used as they are; a Keras model gets variables of our own).
    module_variables: dict[str, object] | None = None
    signature_names: list[str] = field(default_factory=list)
    feature_cut: object | None = None  # cut.FeatureCut: add the features / train_features signatures
    steps_per_run: int = 1  # > 1: add train_steps, that many steps per run


class _Context:
    """What a layer implementation sees while one signature is traced."""

    def __init__(self, weights: dict[int, Weight], variables: dict[str, object], training: bool, tape=None, seed=0):
        self.training = training
        self._weights = weights
        self._variables = variables
        self._tape = tape
        self._reads: dict[str, object] = {}
        self._seed = seed
        self.state_updates: list[tuple[str, object]] = []
        self.keras_forwarded: list[str] = []  # frozen layers run by Keras' own call (frozen.py)
        self._pool_first: dict = {}  # a layer's output (ref) -> how its layer pools it

    def note_pool_first(self, output, pool_first) -> None:
        """Records how the layer that made `output` computes a max pool of it
        (`pool_first(pool_layer)`), faster than pooling `output` (see
        layers.conv2d and layers.max_pooling2d)."""
        self._pool_first[output.ref()] = pool_first

    def pool_first(self, tensor):
        """How the layer that made `tensor` pools it, or None."""
        return self._pool_first.get(tensor.ref())

    def weight(self, keras_variable):
        """The weight's value in its stored layout: read once per signature, or a constant."""
        record = self._weights[id(keras_variable)]
        if record.name not in self._reads:
            if record.variable:
                value = self._variables[record.name].read_value()
                if self._tape is not None and record.trainable:
                    self._tape.watch(value)
            else:
                value = tf.constant(record.stored())
            self._reads[record.name] = value
        return self._reads[record.name]

    def initial_value(self, keras_variable):
        """The weight's value in Keras' layout, as the build started (for
        variables that are not weights, e.g. a dropout seed's state: now)."""
        record = self._weights.get(id(keras_variable))
        if record is not None:
            return record.value
        with tf.init_scope():  # read outside the function being traced
            return np.asarray(keras_variable.numpy())

    def trains(self, layer) -> bool:
        """Whether any of the layer's weights train (or are updated as state)."""
        return any(self._weights[id(v)].variable for v in getattr(layer, "weights", ()))

    def trainable_reads(self):
        trainable = {w.name for w in self._weights.values() if w.trainable}
        return [(name, value) for name, value in self._reads.items() if name in trainable]

    def updates_state(self, keras_variable) -> bool:
        """Whether train updates this weight from the forward pass (see Weight.state)."""
        return self.training and self._weights[id(keras_variable)].state

    def assign_state(self, keras_variable, value) -> None:
        """Queues a new value of a state weight, assigned after the step's gradients."""
        self.state_updates.append((self._weights[id(keras_variable)].name, value))

    def next_seed(self) -> int:
        self._seed += 1
        return self._seed


def inference_function(model, weights: dict[int, Weight], input_specs, output_name: str):
    """A tf.function computing ``{output_name: outputs}`` with every weight a constant (for export)."""

    @tf.function(autograph=False, input_signature=input_specs)
    def infer(*inputs):
        (outputs,) = _forward(_Context(weights, {}, training=False), model, list(inputs))
        return {output_name: outputs}

    return infer


def _forward(ctx: _Context, model, inputs: list):
    """Runs the Keras graph with litetrain's layer implementations; returns the output list."""

    def operation_fn(layer):
        if _is_model(layer):
            return lambda *args, **kwargs: _nested(ctx, layer, args)
        impl = layers.IMPLEMENTATIONS.get(type(layer).__name__)

        def call(*args, **kwargs):
            with tf.name_scope(layer.name):
                if impl is not None:
                    try:
                        return impl(ctx, layer, *args)
                    except BuildError:
                        if ctx.trains(layer):
                            raise
                # Frozen: only a forward pass, which Keras' own call gives.
                if ctx.trains(layer):
                    raise layers.unsupported(layer)
                ctx.keras_forwarded.append(layer.name)
                return frozen.keras_forward(ctx, layer, *args, **kwargs)

        return call

    functional = model if hasattr(model, "_run_through_graph") and model.__class__.__name__ != "Sequential" else None
    functional = functional or getattr(model, "_functional", None)
    if functional is None:
        raise BuildError("the Keras model is not built: give it an Input (keras.Input) or call model.build(shape)")
    outputs = functional._run_through_graph(inputs if len(inputs) > 1 else inputs[0], operation_fn=operation_fn)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _is_model(layer) -> bool:
    return hasattr(layer, "_run_through_graph") or hasattr(layer, "_functional")


def _nested(ctx: _Context, model, args):
    inputs = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    outputs = _forward(ctx, model, list(inputs))
    return outputs[0] if len(outputs) == 1 else outputs


def build_module(spec: GraphSpec):
    """Returns (module, signatures) ready for tf.saved_model.save."""
    trainable = [w for w in spec.weights.values() if w.trainable]
    if not trainable:
        raise BuildError("no layer trains: trainable= selected no weights")
    module = tf.Module()
    if spec.module_variables is not None:
        module.weights_ = {w.name: spec.module_variables[w.name] for w in trainable}
    else:
        module.weights_ = {w.name: tf.Variable(w.stored(), name=w.name) for w in spec.weights.values() if w.variable}
    module.slots_ = {
        w.name: [tf.Variable(np.zeros_like(w.stored()), name=s) for s in updates.slot_names(spec.optimizer, w.name)]
        for w in trainable
    }
    # Shape [1], not a scalar: XNNPACK reads no variable of rank 0, and a read outside it would split
    # the step into several XNNPACK partitions.
    module.lr_ = tf.Variable(np.full([1], spec.optimizer.learning_rate, np.float32), name="learning_rate")
    module.iterations_ = tf.Variable(np.int32(0), name="iterations") if updates.has_iterations(spec.optimizer) else None

    model = spec.model
    n = spec.batch_size
    input_specs = [
        tf.TensorSpec([n, *shape], tf.float32, name=name) for shape, name in zip(spec.input_shapes, spec.input_names)
    ]
    output_shape = [None, *spec.output_shape]
    losses.check_output(spec.loss, output_shape, f"output {spec.output_names[0]!r}")
    label_dtype, label_shape = spec.loss.label_spec(output_shape, n)
    label_spec = tf.TensorSpec(label_shape, getattr(tf, label_dtype), name="y")

    def metrics(outputs, labels):
        return {m: losses.accuracy(spec.loss, outputs, labels) for m in spec.metrics}

    def forward(ctx, inputs):
        if spec.module_variables is not None:
            return [model(*inputs)]
        return _forward(ctx, model, inputs)

    @tf.function(autograph=False, input_signature=[*input_specs, label_spec])
    def train(*args):
        inputs, labels = list(args[:-1]), args[-1]
        if spec.module_variables is not None:
            return train_module(inputs, labels)
        return train_step(model, inputs, labels)

    def train_step(keras_model, inputs, labels):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            ctx = _Context(spec.weights, module.weights_, training=True, tape=tape, seed=spec.seed)
            (outputs,) = _forward(ctx, keras_model, inputs)
            loss = losses.compute(spec.loss, outputs, labels)
        lr = tf.reshape(module.lr_.read_value(), [])
        reads = ctx.trainable_reads()
        seed = lr if updates.prescales_gradients(spec.optimizer) else None
        grads = tape.gradient(loss, [value for _, value in reads], output_gradients=seed)
        missing = [name for (name, _), g in zip(reads, grads) if g is None]
        if missing:
            raise BuildError(f"no gradient reaches {', '.join(missing)}: is it connected to the output?")
        params = [(module.weights_[name], value, g) for (name, value), g in zip(reads, grads)]
        slots = [module.slots_[name] for name, _ in reads]
        updates.apply(spec.optimizer, lr, params, slots, module.iterations_)
        for name, value in ctx.state_updates:
            module.weights_[name].assign(value)
        return {"loss": loss, **metrics(outputs, labels)}

    def train_module(inputs, labels):
        # The module's own code reads its variables: differentiate with respect to them.
        names = list(module.weights_)
        variables = [module.weights_[name] for name in names]
        with tf.GradientTape() as tape:
            outputs = model(*inputs)
            loss = losses.compute(spec.loss, outputs, labels)
        lr = tf.reshape(module.lr_.read_value(), [])
        seed = lr if updates.prescales_gradients(spec.optimizer) else None
        grads = tape.gradient(loss, variables, output_gradients=seed)
        missing = [name for name, g in zip(names, grads) if g is None]
        if missing:
            raise BuildError(f"no gradient reaches {', '.join(missing)}: is it connected to the output?")
        params = [(v, v.read_value(), g) for v, g in zip(variables, grads)]
        updates.apply(spec.optimizer, lr, params, [module.slots_[name] for name in names], module.iterations_)
        return {"loss": loss, **metrics(outputs, labels)}

    @tf.function(autograph=False, input_signature=[*input_specs, label_spec])
    def evaluate(*args):
        ctx = _Context(spec.weights, module.weights_, training=False)
        (outputs,) = forward(ctx, list(args[:-1]))
        return {"loss": losses.compute(spec.loss, outputs, args[-1]), **metrics(outputs, args[-1])}

    @tf.function(autograph=False, input_signature=input_specs)
    def infer(*inputs):
        ctx = _Context(spec.weights, module.weights_, training=False)
        (outputs,) = forward(ctx, list(inputs))
        return {spec.output_names[0]: outputs}

    state = _state_variables(spec, module)

    @tf.function(autograph=False, input_signature=[])
    def save():
        return {name: _saved_form(variable.read_value(), inverse) for name, (variable, inverse) in state.items()}

    restore_specs = [tf.TensorSpec(_keras_shape(v, inv) or [1], v.dtype, name=name) for name, (v, inv) in state.items()]

    @tf.function(autograph=False, input_signature=restore_specs)
    def restore(*values):
        for (variable, inverse), value in zip(state.values(), values):
            if inverse:
                value = tf.transpose(value, np.argsort(inverse))
            variable.assign(tf.reshape(value, []) if variable.shape.rank == 0 else value)
        # A signature without outputs is pruned to nothing by the converter.
        return {"ok": tf.constant(True)}

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([], tf.float32, name="learning_rate")])
    def set_learning_rate(learning_rate):
        module.lr_.assign(tf.reshape(learning_rate, [1]))
        return {"learning_rate": _saved_form(module.lr_.read_value(), None)}

    @tf.function(autograph=False, input_signature=[])
    def get_learning_rate():
        return {"learning_rate": _saved_form(module.lr_.read_value(), None)}

    signatures = {
        "train": train,
        "eval": evaluate,
        "infer": infer,
        "save": save,
        "restore": restore,
        "set_learning_rate": set_learning_rate,
        "get_learning_rate": get_learning_rate,
    }
    if spec.feature_cut is not None:
        signatures.update(_feature_signatures(spec, module, input_specs, label_spec, train_step))
    if spec.steps_per_run > 1:
        steps = _steps_signature(spec.steps_per_run, input_specs, label_spec, lambda x, y: train_step(model, x, y))
        signatures["train" + STEPS_SIGNATURE_SUFFIX] = steps
    return module, signatures


def _steps_signature(k: int, input_specs, label_spec, step):
    """``train_steps``: `k` steps of ``train`` in one run, on `k` batches ([k, batch, ...]
    inputs), each of train's outputs as [k]. LiteRT's cost per run is then paid once
    per `k` steps (Trainer.fit uses it; see kStepsSignatureSuffix in litetrain/trainer.h)."""
    specs = [tf.TensorSpec([k, *s.shape], s.dtype, name=s.name) for s in [*input_specs, label_spec]]

    @tf.function(autograph=False, input_signature=specs)
    def train_steps(*args):
        # One reshape to [k * batch, ...], then a SLICE of explicit size per step: operators
        # XNNPACK takes (a STRIDED_SLICE that drops the leading axis is not).
        rows = [tf.reshape(a, [-1, *a.shape[2:]]) for a in args]
        outputs = []
        for i in range(k):
            batch = [_rows(r, i * a.shape[1], a.shape[1]) for r, a in zip(rows, args)]
            outputs.append(step(batch[:-1], batch[-1]))
        return {name: concat([tf.reshape(o[name], [1]) for o in outputs], axis=0) for name in outputs[0]}

    return train_steps


def _rows(t, first: int, count: int):
    """Rows [first, first + count) of `t`, as a SLICE of explicit size."""
    return tf.slice(t, [first] + [0] * (t.shape.rank - 1), [count, *t.shape[1:]])


def _feature_signatures(spec: GraphSpec, module, input_specs, label_spec, train_step) -> dict:
    """``features(x)``: the frozen part below the cut; ``train_features(features, y)``: the
    step of the layers from the cut on, which is the train step given those features."""
    cut = spec.feature_cut
    feature_spec = tf.TensorSpec([spec.batch_size, *cut.frozen.outputs[0].shape[1:]], tf.float32, name=FEATURES)

    @tf.function(autograph=False, input_signature=input_specs)
    def features(*inputs):
        ctx = _Context(spec.weights, module.weights_, training=False)
        (values,) = _forward(ctx, cut.frozen, list(inputs))
        return {FEATURES: values}

    @tf.function(autograph=False, input_signature=[feature_spec, label_spec])
    def train_features(values, labels):
        return train_step(cut.head, [values], labels)

    return {FEATURES: features, TRAIN_ON_FEATURES: train_features}


def _state_variables(spec: GraphSpec, module) -> dict[str, tuple[object, tuple | None]]:
    """Every variable by its save/restore name, with the permutation back to Keras' layout."""
    state = {}
    for w in (w for w in spec.weights.values() if w.trainable):
        state[w.name] = (module.weights_[w.name], w.inverse_perm)
        for slot_name, slot in zip(updates.slot_names(spec.optimizer, w.name), module.slots_[w.name]):
            state[slot_name] = (slot, w.inverse_perm)
    state[updates.LEARNING_RATE] = (module.lr_, None)
    for w in (w for w in spec.weights.values() if w.state):
        state[w.name] = (module.weights_[w.name], None)
    if module.iterations_ is not None:
        state[updates.ITERATIONS] = (module.iterations_, None)
    return state


def _saved_form(value, inverse):
    """A variable's value as save outputs it: Keras' layout; scalars as shape [1].

    LiteRT 2.3's CompiledModel cannot bind an output buffer to a signature
    output that is a scalar READ_VARIABLE result (subgraph.cc: allocation_type
    check fails), so scalar state travels as a one-element vector.
    """
    if inverse:
        return tf.transpose(value, inverse)
    if value.shape.rank == 0:
        return tf.reshape(value, [1])
    return value


def _keras_shape(variable, inverse):
    shape = variable.shape.as_list()
    return [shape[i] for i in inverse] if inverse else shape


BUILDER_FIX = "Freeze the layers that need them (trainable=) or use supported layers/activations."


def convert(module, signatures, *, quantize_frozen: bool = False, configure=None, fix: str = BUILDER_FIX) -> bytes:
    """SavedModel -> builtin-only TFLite with resource variables.

    Args:
        quantize_frozen: Dynamic-range quantization of constant weights.
        configure: Called with the converter before converting (export's quantization options).
        fix: What the refusal of ops that are not builtins tells the user to do.
    """
    with tempfile.TemporaryDirectory(prefix="litetrain-build-") as saved_model:
        # The gradients are already part of the traced train function; saving
        # them again per custom_gradient would trace (and refuse) gradients of
        # layers nothing trains through.
        options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
        tf.saved_model.save(module, saved_model, signatures=signatures, options=options)
        with _quiet_absl():  # it warns that the (unneeded) gradients were not saved
            converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=list(signatures))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.experimental_enable_resource_variables = True
        if quantize_frozen:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if configure is not None:
            configure(converter)
        try:
            with _quiet_absl():
                return converter.convert()
        except Exception as e:  # the converter raises ConverterError with a long dump
            raise BuildError(_explain_converter_error(str(e), fix)) from None


@contextlib.contextmanager
def _quiet_absl():
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _explain_converter_error(message: str, fix: str) -> str:
    ops = sorted(set(re.findall(r"'tf\.(\w+)'", message)) | set(re.findall(r"\btf\.(\w+)\b(?= op)", message)))
    scopes = sorted(set(re.findall(r'"(?:train|eval|infer)/([\w.-]+)/', message)))
    where = f" in layer(s) {', '.join(scopes)}" if scopes else ""
    if ops:
        return f"the training graph needs TensorFlow ops that are not TFLite builtins{where}: {', '.join(ops)}. {fix}"
    first = message.strip().splitlines()[:3]
    return "conversion to TFLite failed: " + " ".join(first)
