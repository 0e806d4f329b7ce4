"""Keras model -> trainable .tflite (builtin ops only): :func:`build`.

Needs TensorFlow (``pip install 'litetrain[build]'``); training the result does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from litetrain import optim
from litetrain.errors import BuildError
from litetrain.tf.builder import graph, losses, weights
from litetrain.tf.builder.cut import feature_cut
from litetrain.tf.builder.fuse import rewrite_for_xnnpack
from litetrain.tf.builder.weights import LastLayers, LayersFrom
from litetrain.tf.builtin_forms import builtin_forms
from litetrain.tf.flops import flops_per_step
from litetrain.tf.training_file import TrainingFile

__all__ = ["BuildError", "BuiltModel", "LastLayers", "LayersFrom", "build"]

SIGNATURES = ("train", "eval", "infer", "save", "restore", "set_learning_rate", "get_learning_rate")


@dataclass
class BuiltModel(TrainingFile):
    """A trainable ``.tflite`` made by :func:`build` (``tflite``: the file's bytes).

    Attributes:
        keras_model: The source Keras model (for :func:`litetrain.export` and
            :func:`litetrain.load_weights`); None for a tf.Module.
        trainable_weights: Names of the weights that train ("<layer>_<weight>").
        frozen_weights: Names of the weights that are constants of the file.
    """

    keras_model: object
    trainable_weights: list[str]
    frozen_weights: list[str]


def build(
    model,
    loss,
    optimizer,
    *,
    trainable=None,
    batch_size: int | None = None,
    from_logits: bool | None = None,
    metrics: tuple[str, ...] | None = None,
    quantize_frozen: str | None = None,
    batch_statistics: bool = False,
    input_shape: tuple[int, ...] | None = None,
    seed: int = 0,
    cache_features: bool = False,
    steps_per_run: int | None = None,
    portable: bool = False,
) -> BuiltModel:
    """Builds a trainable ``.tflite`` of TFLite builtin ops from a Keras model.

    Signatures (inputs by name; a single model input is ``x``, labels ``y``):
    ``train(x, y) -> {loss[, accuracy]}`` one optimizer step;
    ``eval(x, y) -> {loss[, accuracy]}`` no update;
    ``infer(x) -> {<output layer name>}``;
    ``save() -> {name: value}`` every variable (trainable weights as "<layer>_<weight>"
    in Keras' layout, optimizer state as ``<weight>__adam_m`` etc., ``optimizer__learning_rate``);
    ``restore(**those) -> {ok}``;
    ``set_learning_rate(learning_rate) / get_learning_rate() -> {learning_rate}``;
    with `cache_features`, also ``features(x) -> {features}`` (the frozen part) and
    ``train_features(features, y)`` (the step of the head alone).

    Args:
        model: A built Keras 3 model (Sequential or functional), or a
            ``tf.Module`` whose ``__call__(x)`` computes the output from its
            ``tf.Variable``s (then `input_shape` is needed; its gradients are
            TensorFlow's own, traced with :mod:`litetrain.tf.builtin_forms`, and
            an op whose gradient still needs Flex is refused by name).
        loss: "categorical_crossentropy", "sparse_categorical_crossentropy",
            "binary_crossentropy", "mean_squared_error" ("mse"), "huber", or the
            matching Keras loss object.
        optimizer: litetrain.optim.SGD / Adam / AdamW or the Keras optimizer.
        trainable: Which layers train: None (those Keras marks trainable);
            layer objects (a nested backbone model: all its layers), layer
            names or fnmatch patterns, alone or in a list;
            ``LayersFrom("block_16_expand")`` (that layer and all after it) or
            ``LastLayers(n)``; or a predicate on the layer. The others are
            frozen: constants of the file. A frozen layer may be of any kind
            TensorFlow converts to builtin ops (it runs through Keras' own
            call); a layer that trains must be one litetrain has gradients for.
        batch_size: Fixed batch size (leanest graph: no shape ops per step),
            or None for any batch size.
        from_logits: For string cross-entropy losses: whether outputs are logits.
        metrics: Extra train/eval outputs; default ("accuracy",) for
            classification losses, () otherwise.
        quantize_frozen: None, or "int8": frozen weights stored as int8
            (dynamic-range quantization); trainable weights stay float32.
        batch_statistics: BatchNormalization layers that train use the
            batch's statistics in ``train`` and update their moving ones
            (Keras' training=True); default: moving statistics everywhere
            (Keras' training=False, usual for fine-tuning).
        input_shape: For a tf.Module: the input's shape without the batch dimension.
        seed: Seed of dropout's random masks.
        cache_features: Add the ``features`` / ``train_features`` signatures, with which
            :meth:`litetrain.Trainer.fit` runs the frozen part below the layers that train
            once per fit instead of at every step (same result; see :func:`build_split`
            for where the model may be cut).
        steps_per_run: Add ``train_steps``, this many steps of ``train`` in one run
            (inputs ``[steps_per_run, batch, ...]``, each output of train per step),
            which :meth:`litetrain.Trainer.fit` runs wherever that many whole batches
            follow each other: the same arithmetic, bit for bit, with the runtime's
            cost per run (about a microsecond) paid once per run. 1: no such
            signature. None (default): 8 when the step is cheap (at most
            ``CHEAP_STEP_FLOPS`` FLOPs, 2 per multiply-add, at a fixed batch, every
            weight a variable, no dropout), else 1.
        portable: Leave out the forms tuned for litetrain's runtime: a variable
            read for each use of a weight, weight gradients and dense layers whose
            weights outnumber the batch as FULLY_CONNECTED with computed weights.
            Under LiteRT's and TensorFlow's default CPU options those run on
            builtin kernels (XNNPACK takes them only with its
            DYNAMIC_FULLY_CONNECTED flag, which litetrain sets): for a file
            another runtime trains. Measured, one thread, a step of the
            784-128-10 MLP at batch 8: ``tf.lite.Interpreter`` 80 us on the
            portable file against 110 on the default one, litetrain's Trainer 65
            on the default one.

    Raises:
        BuildError: a layer, activation, loss, optimizer or gradient that has
            no builtin form, named with the layer.
    """

    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
    if steps_per_run is not None and (isinstance(steps_per_run, bool) or not isinstance(steps_per_run, int)):
        raise ValueError(f"steps_per_run must be an int >= 1 or None, got {steps_per_run!r}")
    if steps_per_run is not None and steps_per_run < 1:
        raise ValueError(f"steps_per_run must be >= 1 or None, got {steps_per_run}")
    if not isinstance(portable, bool):
        raise ValueError(f"portable must be True or False, got {portable!r}")
    if quantize_frozen not in (None, "int8"):
        raise ValueError(f"quantize_frozen must be None or 'int8', got {quantize_frozen!r}")
    is_keras = hasattr(model, "layers") and hasattr(model, "get_weights")
    if not is_keras and not isinstance(model, tf.Module):
        raise BuildError(f"model must be a Keras model or a tf.Module, got {type(model).__name__}")
    if is_keras and (not getattr(model, "built", False) or not getattr(model, "inputs", None)):
        raise BuildError("the Keras model is not built: give it an Input (keras.Input) or call model.build(shape)")
    if not is_keras and input_shape is None:
        raise BuildError("a tf.Module model needs input_shape= (the input's shape without the batch dimension)")
    loss_spec = losses.resolve(loss, from_logits)
    if metrics is None:
        metrics = ("accuracy",) if loss_spec.classification else ()
    for m in metrics:
        if m != "accuracy" or not loss_spec.classification:
            raise BuildError(
                f"metric {m!r} is not supported for {loss_spec.name}; supported: accuracy (classification)"
            )
    if is_keras:
        if len(model.outputs) != 1:
            raise BuildError(f"the model has {len(model.outputs)} outputs; training supports one output")
        trainable_layers = weights.select_trainable(model, trainable)
        records = weights.collect(model, trainable_layers, batch_statistics)
        shapes = dict(
            input_names=_input_names(model),
            output_names=[_layer_name(t) for t in model.outputs],
            input_shapes=[tuple(t.shape[1:]) for t in model.inputs],
            output_shape=tuple(model.outputs[0].shape[1:]),
        )
        module_variables = None
        cut = feature_cut(model, trainable_layers) if cache_features else None
    else:
        if cache_features:
            raise BuildError("cache_features needs a Keras model (a tf.Module has no layers to cut between)")
        cut = None
        records, module_variables = weights.module_weights(model, trainable)
        shapes = dict(
            input_names=["x"],
            output_names=["output"],
            input_shapes=[tuple(input_shape)],
            output_shape=_module_output_shape(model, input_shape),
        )
    steps_per_run = _steps_per_run(steps_per_run, model if is_keras else None, records, batch_size)
    spec = graph.GraphSpec(
        model=model,
        weights=records,
        loss=loss_spec,
        optimizer=optim.resolve(optimizer),
        batch_size=batch_size,
        metrics=tuple(metrics),
        seed=seed,
        module_variables=module_variables,
        feature_cut=cut,
        steps_per_run=steps_per_run,
        **shapes,
    )
    module, signatures = graph.build_module(spec)
    # Traced while converting: what TensorFlow differentiates itself (frozen layers run through
    # Keras, the loss's broadcasts) in builtin forms, as litetrain.convert does.
    with builtin_forms(set()):
        tflite = graph.convert(module, signatures, quantize_frozen=quantize_frozen == "int8")
    tflite = rewrite_for_xnnpack(tflite, portable=portable)
    return BuiltModel(
        tflite=tflite,
        keras_model=model if is_keras else None,
        trainable_weights=[w.name for w in records.values() if w.trainable],
        frozen_weights=[w.name for w in records.values() if not w.variable],
    )


# A step of at most this many FLOPs (litetrain.tf.flops) costs about as much as
# LiteRT's work per run, which train_steps saves (measured: the 32-16-4 MLP at
# batch 8, 3.7 us per step in train, 2.4 in train_steps with 8 steps per run).
CHEAP_STEP_FLOPS = 2_000_000
STEPS_PER_CHEAP_RUN = 8


def _steps_per_run(requested: int | None, keras_model, records, batch_size: int | None) -> int:
    """How many steps train_steps runs at once (1: no train_steps)."""
    if requested == 1:
        return 1
    why_not = None
    if batch_size is None:
        why_not = "a fixed batch_size"
    elif keras_model is None:
        why_not = "a Keras model"
    elif any(type(layer).__name__ == "Dropout" and layer.rate > 0 for layer in weights.model_layers(keras_model)):
        # Each copy of the step would draw dropout's masks from its own random op.
        why_not = "a model without Dropout"
    if why_not is not None:
        if requested is not None:
            raise BuildError(f"steps_per_run={requested} needs {why_not}; leave it None or 1")
        return 1
    if requested is not None:
        return requested
    frozen = any(not w.variable for w in records.values())
    # Frozen weights would be constants of each copy of the step.
    cheap = not frozen and flops_per_step(keras_model, batch_size) <= CHEAP_STEP_FLOPS
    return STEPS_PER_CHEAP_RUN if cheap else 1


def _module_output_shape(module, input_shape) -> tuple:
    spec = tf.TensorSpec([None, *input_shape], tf.float32)
    output = tf.function(module, autograph=False).get_concrete_function(spec).structured_outputs
    if not hasattr(output, "shape"):
        raise BuildError("the tf.Module must return one tensor from __call__(x)")
    return tuple(output.shape[1:])


def _layer_name(keras_tensor) -> str:
    return keras_tensor._keras_history.operation.name


def _input_names(model) -> list[str]:
    if len(model.inputs) == 1:
        return ["x"]
    names = [_layer_name(t) for t in model.inputs]
    if "y" in names:
        raise BuildError("an input is named 'y', the name of the labels; rename that Input")
    return names
