"""Activations with gradients written in TFLite builtin ops.

TensorFlow's own gradients of relu, relu6 (also inside hard_sigmoid and
hard_silu), leaky_relu and gelu are ops the TFLite builtin set lacks
(ReluGrad, Relu6Grad, LeakyReluGrad, Erfc), so a
plain GradientTape conversion needs Flex. Each function here computes the same
forward value with a `tf.custom_gradient` whose backward pass uses only
builtin-friendly ops, and the cheapest such form (from the output where that
is enough, so the input need not stay alive).
"""

from __future__ import annotations

import math

import tensorflow as tf

from litetrain.errors import BuildError

# Keras' defaults where the activation is named by a string.
KERAS_LEAKY_RELU_SLOPE = 0.2


def get(name: str, where: str, negative_slope: float = KERAS_LEAKY_RELU_SLOPE):
    """Returns ``f(x) -> y`` for the Keras activation `name` (a string), refusing unknown ones."""
    if name in (None, "linear"):
        return lambda x: x
    builders = {
        "relu": lambda: _relu(),
        "relu6": lambda: _relu6(),
        "leaky_relu": lambda: _leaky_relu(negative_slope),
        "sigmoid": lambda: _sigmoid(),
        "tanh": lambda: _tanh(),
        "softmax": lambda: _softmax(),
        "gelu": lambda: _gelu(approximate=False),
        "gelu_approximate": lambda: _gelu(approximate=True),
        "hard_sigmoid": lambda: _hard_sigmoid(),
        "hard_silu": lambda: _hard_silu(),
        "hard_swish": lambda: _hard_silu(),
        "silu": lambda: _silu(),
        "swish": lambda: _silu(),
    }
    if name not in builders:
        raise BuildError(
            f"{where}: activation {name!r} is not supported in a training graph; "
            f"supported: linear, {', '.join(builders)}"
        )
    return builders[name]()


def positive(a):
    """1 where a > 0, else 0, for a >= 0: ceil(min(a, 1)), exact for any a >= 0.

    The masks of piecewise gradients are written with it: XNNPACK has kernels
    for MINIMUM and CEIL, none for SIGN, comparisons or SELECT, and an
    operator it lacks splits a step into several XNNPACK partitions.
    """
    return tf.math.ceil(tf.minimum(a, 1.0))


def _relu():
    @tf.custom_gradient
    def relu(x):
        y = tf.nn.relu(x)

        def grad(dy):
            return dy * positive(y)

        return y, grad

    return relu


def _relu6():
    @tf.custom_gradient
    def relu6(x):
        y = tf.nn.relu6(x)

        def grad(dy):
            return dy * positive(y * (6.0 - y))  # 0 < y < 6

        return y, grad

    return relu6


def _leaky_relu(slope: float):
    @tf.custom_gradient
    def leaky_relu(x):
        y = tf.nn.leaky_relu(x, alpha=slope)

        def grad(dy):
            return dy * (slope + (1.0 - slope) * positive(tf.nn.relu(x)))

        return y, grad

    return leaky_relu


def _sigmoid():
    @tf.custom_gradient
    def sigmoid(x):
        y = tf.sigmoid(x)

        def grad(dy):
            return dy * (y * (1.0 - y))

        return y, grad

    return sigmoid


def _tanh():
    @tf.custom_gradient
    def tanh(x):
        y = tf.tanh(x)

        def grad(dy):
            return dy * (1.0 - y * y)

        return y, grad

    return tanh


def _hard_gate(x):
    """relu6(x + 3) / 6, and 1 where its slope is 1/6 (0 < gate < 1), else 0."""
    gate = tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
    return gate, positive(gate * (1.0 - gate))


def _hard_sigmoid():
    """Keras 3's hard_sigmoid: relu6(x + 3) / 6."""

    @tf.custom_gradient
    def hard_sigmoid(x):
        y, inside = _hard_gate(x)

        def grad(dy):
            return dy * (inside * (1.0 / 6.0))

        return y, grad

    return hard_sigmoid


def _hard_silu():
    """hard_silu (hard_swish, MobileNetV3's activation): x * relu6(x + 3) / 6."""

    @tf.custom_gradient
    def hard_silu(x):
        gate, inside = _hard_gate(x)
        y = x * gate

        def grad(dy):
            return dy * (gate + inside * x * (1.0 / 6.0))

        return y, grad

    return hard_silu


def _silu():
    """silu (swish, EfficientNet's activation): x * sigmoid(x)."""

    @tf.custom_gradient
    def silu(x):
        s = tf.sigmoid(x)
        y = x * s

        def grad(dy):
            return dy * (s * (1.0 + x * (1.0 - s)))

        return y, grad

    return silu


def _softmax():
    @tf.custom_gradient
    def softmax(x):
        y = tf.nn.softmax(x, axis=-1)

        def grad(dy):
            return y * (dy - tf.reduce_sum(dy * y, axis=-1, keepdims=True))

        return y, grad

    return softmax


def _erf(x):
    """erf from exp and a rational polynomial (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).

    TFLite has no ERF builtin; this keeps exact GELU builtin-only.
    """
    p = 0.3275911
    a1, a2, a3, a4, a5 = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429
    s = positive(tf.nn.relu(x)) - positive(tf.nn.relu(-x))  # sign(x), in operators XNNPACK takes
    ax = tf.abs(x)
    t = 1.0 / (1.0 + p * ax)
    poly = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))))
    return s * (1.0 - poly * tf.exp(-ax * ax))


def _gelu(approximate: bool):
    inv_sqrt2 = 1.0 / math.sqrt(2.0)
    inv_sqrt2pi = 1.0 / math.sqrt(2.0 * math.pi)
    c = math.sqrt(2.0 / math.pi)

    @tf.custom_gradient
    def gelu(x):
        if approximate:
            inner = c * (x + 0.044715 * x * x * x)
            th = tf.tanh(inner)
            y = 0.5 * x * (1.0 + th)
        else:
            cdf = 0.5 * (1.0 + _erf(x * inv_sqrt2))
            y = x * cdf

        def grad(dy):
            if approximate:
                dinner = c * (1.0 + 3.0 * 0.044715 * x * x)
                return dy * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * dinner)
            pdf = inv_sqrt2pi * tf.exp(-0.5 * x * x)
            return dy * (cdf + x * pdf)

        return y, grad

    return gelu
