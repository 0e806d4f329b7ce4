"""Frozen layers that litetrain has no formulation of: Keras runs them itself.

A frozen layer needs a forward pass only (no gradient reaches its weights),
and TensorFlow lowers most Keras layers to builtin ops: ZeroPadding2D,
Rescaling, Normalization, Multiply (squeeze-excite), hard-swish, LSTM
inference, ... The layer runs through ``stateless_call`` with its weights
given as constants: a Keras 3 layer called inside a tf.Module would otherwise
convert with uninitialised variables (DESIGN.md). Whether the result is
builtin-only is the converter's to say (graph.convert names these layers when
it is not).
"""

from __future__ import annotations

import inspect

import tensorflow as tf


def keras_forward(ctx, layer, *args, **kwargs):
    """`layer`'s own call in inference mode, its weights constants."""
    if not hasattr(layer, "stateless_call"):
        # An operation of the functional graph (``x * y``, keras.ops): no weights.
        return layer.call(*args, **kwargs)
    trainable = [tf.constant(ctx.initial_value(v)) for v in layer.trainable_variables]
    non_trainable = [tf.constant(ctx.initial_value(v)) for v in layer.non_trainable_variables]
    if _takes_training(layer):
        kwargs["training"] = False
    outputs, _ = layer.stateless_call(trainable, non_trainable, *args, **kwargs)
    return outputs


def _takes_training(layer) -> bool:
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin call
        return False
