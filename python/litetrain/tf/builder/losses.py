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
    """The mean loss of a batch (a float32 scalar)."""
    n = batch_count(labels)
    if loss.name == "sparse_categorical_crossentropy":
        labels = tf.one_hot(labels, outputs.shape[-1], dtype=tf.float32)
    if loss.name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if loss.from_logits:
            return _softmax_cross_entropy(outputs, labels, n)
        p = outputs / tf.reduce_sum(outputs, axis=-1, keepdims=True)
        p = tf.clip_by_value(p, EPSILON, 1.0 - EPSILON)
        return -tf.reduce_sum(labels * tf.math.log(p)) / n
    if loss.name == "binary_crossentropy":
        if loss.from_logits:
            # max(z, 0) - z*y + log(1 + exp(-|z|)), TensorFlow's stable form.
            per = tf.maximum(outputs, 0.0) - outputs * labels + tf.math.log(1.0 + tf.exp(-tf.abs(outputs)))
        else:
            p = tf.clip_by_value(outputs, EPSILON, 1.0 - EPSILON)
            per = -(labels * tf.math.log(p) + (1.0 - labels) * tf.math.log(1.0 - p))
        return _mean_of_last_axis_means(per, n)
    error = outputs - labels
    if loss.name == "mean_squared_error":
        return _mean_of_last_axis_means(error * error, n)
    if loss.name == "huber":
        absolute = tf.abs(error)
        quadratic = tf.minimum(absolute, loss.delta)
        linear = absolute - quadratic
        return _mean_of_last_axis_means(0.5 * quadratic * quadratic + loss.delta * linear, n)
    raise BuildError(f"loss {loss.name!r} is not supported")  # pragma: no cover - resolve() guards


def _mean_of_last_axis_means(per_element, n):
    # Keras: mean over the last axis per sample, then mean over the batch,
    # which is the sum divided by (batch * last axis) for equal widths.
    width = per_element.shape[-1] if per_element.shape.rank > 1 else 1
    return tf.reduce_sum(per_element) / (n * width)


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
