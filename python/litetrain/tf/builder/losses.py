"""Losses, reduced like Keras' default ("sum_over_batch_size": the mean over the batch).

Each loss knows the labels it takes (dtype and shape for the signature), how
to compute the mean loss in builtin ops, and which metrics make sense.
Softmax cross-entropy from logits, the common case, has a hand-written
gradient: ``(softmax(z) - y) / N`` from the log-softmax already computed for
the loss (3 ops), instead of what TensorFlow's gradient dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from litetrain.errors import BuildError
from litetrain.tf.builder.activations import positive

NAMES = (
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "huber",
)
_ALIASES = {"mse": "mean_squared_error", "huber_loss": "huber"}
# Keras' clipping of probabilities before a log.
EPSILON = 1e-7


@dataclass(frozen=True)
class Loss:
    """A loss as the builder uses it.

    Attributes:
        name: One of NAMES.
        from_logits: Whether the model outputs logits (cross-entropies only).
        delta: Huber's delta.
    """

    name: str
    from_logits: bool = False
    delta: float = 1.0

    @property
    def classification(self) -> bool:
        return self.name.endswith("crossentropy")

    def label_spec(self, output_shape, batch_size):
        """(dtype name, shape) of the labels for a model output of `output_shape`."""
        if self.name == "sparse_categorical_crossentropy":
            return "int32", [batch_size]
        return "float32", [batch_size, *output_shape[1:]]


def resolve(loss, from_logits: bool | None = None) -> Loss:
    """A Loss from a name, a Keras loss object, or a Loss; BuildError for anything else."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        name = _ALIASES.get(loss, loss)
        if name not in NAMES:
            raise BuildError(f"loss {loss!r} is not supported; supported: {', '.join(NAMES)}")
        return Loss(name, bool(from_logits))
    config = getattr(loss, "get_config", lambda: None)()
    kind = type(loss).__name__
    by_class = {
        "CategoricalCrossentropy": "categorical_crossentropy",
        "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
        "BinaryCrossentropy": "binary_crossentropy",
        "MeanSquaredError": "mean_squared_error",
        "Huber": "huber",
    }
    if config is None or kind not in by_class:
        raise BuildError(f"loss {loss!r} is not supported; supported: {', '.join(NAMES)} (names or Keras losses)")
    if config.get("label_smoothing"):
        raise BuildError(f"loss {kind}: label_smoothing is not supported")
    if config.get("reduction") not in (None, "sum_over_batch_size"):
        raise BuildError(f"loss {kind}: reduction {config['reduction']!r}; only 'sum_over_batch_size' is supported")
    return Loss(by_class[kind], bool(config.get("from_logits", False)), float(config.get("delta", 1.0)))


def batch_count(y):
    """The batch size as float32: a constant when it is static, else read per step."""
    if y.shape[0] is not None:
        return float(y.shape[0])
    return tf.cast(tf.shape(y)[0], tf.float32)


def compute(loss: Loss, outputs, labels):
    """The mean loss of a batch (a float32 scalar), with its gradient written out
    in operators XNNPACK takes (TensorFlow's own would bring SELECT, TILE, SIGN,
    comparisons and ADD_N into every step)."""
    n = batch_count(labels)
    if loss.name == "sparse_categorical_crossentropy":
        labels = tf.one_hot(labels, outputs.shape[-1], dtype=tf.float32)
    if loss.name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if loss.from_logits:
            return _softmax_cross_entropy(outputs, labels, n)
        return _categorical_cross_entropy(outputs, labels, n)
    if loss.name == "binary_crossentropy":
        if loss.from_logits:
            # max(z, 0) - z*y + log(1 + exp(-|z|)), TensorFlow's stable form; d/dz = sigmoid(z) - y.
            return _elementwise_mean(
                outputs,
                n,
                lambda z: tf.maximum(z, 0.0) - z * labels + tf.math.log(1.0 + tf.exp(-tf.abs(z))),
                lambda z: tf.sigmoid(z) - labels,
            )

        def per(o):
            p = tf.clip_by_value(o, EPSILON, 1.0 - EPSILON)
            return -(labels * tf.math.log(p) + (1.0 - labels) * tf.math.log(1.0 - p))

        def derivative(o):
            p = tf.clip_by_value(o, EPSILON, 1.0 - EPSILON)
            return ((1.0 - labels) / (1.0 - p) - labels / p) * _within(o, EPSILON, 1.0 - EPSILON)

        return _elementwise_mean(outputs, n, per, derivative)
    if loss.name == "mean_squared_error":
        return _elementwise_mean(outputs, n, lambda o: tf.square(o - labels), lambda o: 2.0 * (o - labels))
    if loss.name == "huber":
        delta = loss.delta

        def per(o):
            absolute = tf.abs(o - labels)
            quadratic = tf.minimum(absolute, delta)
            return 0.5 * quadratic * quadratic + delta * (absolute - quadratic)

        # The error itself inside [-delta, delta], delta's sign outside.
        return _elementwise_mean(outputs, n, per, lambda o: tf.clip_by_value(o - labels, -delta, delta))
    raise BuildError(f"loss {loss.name!r} is not supported")  # pragma: no cover - resolve() guards


def _within(x, low: float, high: float):
    """1 where low <= x <= high, else 0 (where clip_by_value passes its gradient)."""
    return (1.0 - positive(tf.nn.relu(low - x))) * (1.0 - positive(tf.nn.relu(x - high)))


def _elementwise_mean(outputs, n, per_element, derivative):
    """Keras' reduction of `per_element(outputs)`: the mean over the last axis per
    sample, then over the batch (the sum over (batch * last axis) for equal widths);
    its gradient is `derivative(outputs)` (elementwise) scaled the same way."""
    width = outputs.shape[-1] if outputs.shape.rank > 1 else 1
    scale = 1.0 / (n * width)

    @tf.custom_gradient
    def mean(outputs):
        def grad(upstream):
            return derivative(outputs) * (upstream * scale)

        return tf.reduce_sum(per_element(outputs)) * scale, grad

    return mean(outputs)


def _categorical_cross_entropy(probabilities, labels, n):
    """Keras' categorical cross-entropy of probabilities: normalised, clipped to
    [EPSILON, 1 - EPSILON], -sum(labels * log(p)) / n."""

    @tf.custom_gradient
    def cross_entropy(outputs):
        total = tf.reduce_sum(outputs, axis=-1, keepdims=True)
        p = outputs / total
        clipped = tf.clip_by_value(p, EPSILON, 1.0 - EPSILON)
        value = -tf.reduce_sum(labels * tf.math.log(clipped)) / n

        def grad(upstream):
            dp = -labels / clipped * _within(p, EPSILON, 1.0 - EPSILON) * (upstream / n)
            # p = outputs / total: d/do_k = (dp_k - sum_j dp_j p_j) / total.
            return (dp - tf.reduce_sum(dp * p, axis=-1, keepdims=True)) / total

        return value, grad

    return cross_entropy(probabilities)


def _softmax_cross_entropy(logits, labels, n):
    @tf.custom_gradient
    def cross_entropy(logits):
        shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
        exps = tf.exp(shifted)
        total = tf.reduce_sum(exps, axis=-1, keepdims=True)
        value = tf.reduce_sum(labels * (tf.math.log(total) - shifted)) * (1.0 / n)

        def grad(upstream):
            return (exps / total - labels) * (upstream * (1.0 / n))

        return value, grad

    return cross_entropy(logits)


def accuracy(loss: Loss, outputs, labels):
    """Fraction of the batch classified right (classification losses only)."""
    if loss.name == "binary_crossentropy":
        threshold = 0.0 if loss.from_logits else 0.5
        hits = tf.cast(tf.equal(tf.cast(outputs > threshold, tf.float32), labels), tf.float32)
        return tf.reduce_mean(hits)
    predicted = tf.argmax(outputs, axis=-1, output_type=tf.int32)
    truth = labels if loss.name == "sparse_categorical_crossentropy" else tf.argmax(labels, -1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(tf.equal(predicted, truth), tf.float32))


def check_output(loss: Loss, output_shape, where: str):
    """Refuses outputs a loss cannot take (e.g. sparse labels for a 1-wide output)."""
    if loss.classification and len(output_shape) != 2:
        raise BuildError(f"{where}: {loss.name} needs outputs of shape [batch, classes], got {list(output_shape)}")
    if loss.name == "sparse_categorical_crossentropy" and output_shape[-1] < 2:
        raise BuildError(f"{where}: sparse_categorical_crossentropy needs at least 2 classes")
