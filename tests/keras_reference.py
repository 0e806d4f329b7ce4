"""TensorFlow's own training step, to check built models against: GradientTape + the Keras optimizer."""

from __future__ import annotations

import numpy as np


def keras_loss(name: str, from_logits: bool):
    import keras

    return {
        "categorical_crossentropy": lambda: keras.losses.CategoricalCrossentropy(from_logits=from_logits),
        "sparse_categorical_crossentropy": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        "binary_crossentropy": lambda: keras.losses.BinaryCrossentropy(from_logits=from_logits),
        "mean_squared_error": lambda: keras.losses.MeanSquaredError(),
        "huber": lambda: keras.losses.Huber(),
    }[name]()


def keras_optimizer(optimizer):
    import keras
    from litetrain import optim

    if isinstance(optimizer, optim.AdamW):
        return keras.optimizers.AdamW(
            optimizer.learning_rate,
            weight_decay=optimizer.weight_decay,
            beta_1=optimizer.beta_1,
            beta_2=optimizer.beta_2,
            epsilon=optimizer.epsilon,
        )
    if isinstance(optimizer, optim.Adam):
        return keras.optimizers.Adam(
            optimizer.learning_rate, beta_1=optimizer.beta_1, beta_2=optimizer.beta_2, epsilon=optimizer.epsilon
        )
    return keras.optimizers.SGD(optimizer.learning_rate, momentum=optimizer.momentum, nesterov=optimizer.nesterov)


def train_steps(model, loss, optimizer, batches, trainable_layers=None, training=False) -> list[float]:
    """Trains `model` in place on `batches` [(inputs, labels)]; returns the losses.

    Layers outside `trainable_layers` (names) are frozen. BatchNormalization
    runs with its moving statistics unless `training` (batch statistics).
    """
    import tensorflow as tf

    if trainable_layers is not None:
        _train_only(model, set(trainable_layers))
    keras_opt = keras_optimizer(optimizer)
    variables = model.trainable_variables
    losses = []
    for inputs, labels in batches:
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=training)
            value = loss(labels, outputs)
        keras_opt.apply_gradients(zip(tape.gradient(value, variables), variables))
        losses.append(float(value))
    return losses


def _train_only(model, names: set[str]) -> None:
    """Marks the layers named in `names` trainable and every other one frozen,
    inside nested models too (a nested model must be trainable for its
    layers' own flags to count)."""
    for layer in model.layers:
        if hasattr(layer, "layers") and type(layer).__name__ in ("Functional", "Sequential", "Model"):
            layer.trainable = True
            _train_only(layer, names)
        elif layer.weights:
            layer.trainable = layer.name in names


def weights_by_name(model) -> dict[str, np.ndarray]:
    from litetrain.tf.builder.weights import model_layers, weight_name

    return {weight_name(layer, w): np.asarray(w.numpy()) for layer in model_layers(model) for w in layer.weights}
