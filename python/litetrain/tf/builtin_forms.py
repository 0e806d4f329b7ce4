"""Builtin-op forms of what TensorFlow and Keras would trace into Flex ops, swapped in while a
function is traced (:func:`builtin_forms`): by :func:`litetrain.convert` for every function of a
module, and by :func:`litetrain.build` around its own signatures (a frozen layer runs through
Keras, and TensorFlow differentiates what litetrain's layers do not).
"""

from __future__ import annotations

import contextlib
import importlib

import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import math_grad


# What a builtin form returns to leave the call to TensorFlow's own function.
AS_TENSORFLOW_DOES = object()
_SELU_SCALE, _SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


# Builtin-op gradients of the activations whose TensorFlow gradient is a Flex
# kernel. Each uses the tensor TensorFlow's own gradient uses (a GradientTape
# keeps only those).
def _relu_grad(op, dy):
    return tf.where(op.outputs[0] > 0, dy, tf.zeros_like(dy))


def _relu6_grad(op, dy):
    y = op.outputs[0]
    return tf.where(tf.logical_and(y > 0, y < 6), dy, tf.zeros_like(dy))


def _leaky_relu_grad(op, dy):
    return tf.where(op.inputs[0] > 0, dy, dy * op.get_attr("alpha"))


def _elu_grad(op, dy):
    y = op.outputs[0]
    return tf.where(y > 0, dy, dy * (y + 1.0))


def _selu_grad(op, dy):
    y = op.outputs[0]  # SeluGrad: the negative branch only below 0 (at 0 the slope is the scale)
    return tf.where(y < 0, dy * (y + _SELU_SCALE * _SELU_ALPHA), dy * _SELU_SCALE)


def _reduce_to(grad, x):
    """`grad`, of the shape `x` was broadcast to, summed back to x's shape in builtin ops.

    An axis where x's size is unknown while tracing may have been broadcast (size 1
    while running) or not: both sums are formed and the running sizes pick one.
    """
    lead = grad.shape.rank - x.shape.rank  # both ranks known: checked by the caller
    if lead:
        grad = tf.reduce_sum(grad, axis=list(range(lead)))
    for axis, (size, grad_size) in enumerate(zip(x.shape.as_list(), grad.shape.as_list())):
        if size == 1 and grad_size != 1:
            grad = tf.reduce_sum(grad, axis=axis, keepdims=True)
        elif size is None and grad_size != 1:
            running = tf.shape(x)[axis]
            summed = tf.reduce_sum(grad, axis=axis, keepdims=True)
            chosen = tf.where(tf.equal(running, tf.shape(grad)[axis]), grad, summed)
            sizes = tf.stack([running if a == axis else -1 for a in range(x.shape.rank)])
            grad = tf.slice(chosen, [0] * x.shape.rank, sizes)
    return grad


def _builtin_reduce_gradient_args(x, y, gx, gy):
    # TensorFlow's reduction of a broadcasting op's gradients (math_grad._ReduceGradientArgs)
    # asks BroadcastGradientArgs, a Flex op, when the static shapes leave the broadcast open.
    known = [t for t in (x, y, gx, gy) if t is not None]
    if any(t.shape.rank is None for t in known) or (gx is None and gy is None):
        return AS_TENSORFLOW_DOES
    if math_grad._InferGradientReductionAxes(x.shape, y.shape)[0] is not None:  # noqa: SLF001
        return AS_TENSORFLOW_DOES  # decided by the static shapes: no Flex op
    return (None if gx is None else _reduce_to(gx, x)), (None if gy is None else _reduce_to(gy, y))


def _keras_signbit(x):
    # Keras 3's signbit (in its float argmax: accuracy metrics) tests the sign bit with
    # BitwiseAnd, a Flex op; -0.0 is the only zero whose reciprocal is negative.
    x = tf.cast(x, tf.float32)
    return tf.logical_or(x < 0, tf.logical_and(tf.equal(x, 0.0), tf.math.reciprocal(x) < 0))


# Op type -> (the Flex op TensorFlow's gradient uses, a builtin gradient).
BUILTIN_GRADIENTS = {
    "Relu": ("ReluGrad", _relu_grad),
    "Relu6": ("Relu6Grad", _relu6_grad),
    "LeakyRelu": ("LeakyReluGrad", _leaky_relu_grad),
    "Elu": ("EluGrad", _elu_grad),
    "Selu": ("SeluGrad", _selu_grad),
}
# (module, function) -> (what it is, with the Flex op it would need; a builtin form), swapped while tracing.
BUILTIN_FUNCTIONS = {
    ("tensorflow.python.ops.math_grad", "_ReduceGradientArgs"): (
        "the sums of broadcast gradients (BroadcastGradientArgs)",
        _builtin_reduce_gradient_args,
    ),
    ("keras.src.backend.tensorflow.numpy", "signbit"): ("Keras' signbit (BitwiseAnd)", _keras_signbit),
}


@contextlib.contextmanager
def builtin_forms(used: set[str]):
    """While tracing: TensorFlow's gradient functions of BUILTIN_GRADIENTS' ops and the
    functions of BUILTIN_FUNCTIONS replaced by builtin forms; each one used adds a line to `used`.

    The gradient table is TensorFlow's private gradient registry (op type -> {"type":
    function, "location": ...}), which GradientTape and tf.gradients both look up.
    Everything is put back on exit; another thread tracing meanwhile would see the swap.
    """

    def recording(label, form, original):
        def replacement(*args, **kwargs):
            result = form(*args, **kwargs)
            if result is AS_TENSORFLOW_DOES:
                return original(*args, **kwargs)
            used.add(label)
            return result

        return replacement

    registry = tf_ops._gradient_registry._registry  # noqa: SLF001 - no public way to swap a gradient
    saved_gradients = {op: registry.get(op) for op in BUILTIN_GRADIENTS}
    modules = {key: module for key in BUILTIN_FUNCTIONS if (module := _module_or_none(key[0])) is not None}
    saved_functions = {key: getattr(module, key[1]) for key, module in modules.items()}
    try:
        for op, (flex, gradient) in BUILTIN_GRADIENTS.items():
            label = f"the gradient of {op} ({flex}) in builtin ops"
            original = (saved_gradients[op] or {}).get("type")
            registry[op] = {**(saved_gradients[op] or {}), "type": recording(label, gradient, original)}
        for (module_name, name), module in modules.items():
            what, form = BUILTIN_FUNCTIONS[module_name, name]
            setattr(module, name, recording(f"{what} in builtin ops", form, saved_functions[module_name, name]))
        yield
    finally:
        for op, entry in saved_gradients.items():
            if entry is None:
                registry.pop(op, None)
            else:
                registry[op] = entry
        for (module_name, name), function in saved_functions.items():
            setattr(modules[module_name, name], name, function)


def _module_or_none(module_name: str):
    """The module, or None where this TensorFlow or Keras has no such module (nothing to swap)."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None
