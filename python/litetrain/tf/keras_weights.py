"""Trained weights back into Keras: :func:`load_weights`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from litetrain._sources import weights_and_checkpoint
from litetrain.optim import is_optimizer_state
from litetrain.tf.builder.weights import model_layers, weight_name


def resolve_weights(weights) -> dict[str, np.ndarray]:
    """Weights by save/restore name from a dict, a Trainer, or a checkpoint path."""
    return weights_and_checkpoint(weights)[0]


def load_weights(keras_model, weights) -> list[str]:
    """Puts weights trained on the device back into the Keras model they were built from.

    Args:
        keras_model: The model passed to :func:`litetrain.build` (or one of the same architecture).
        weights: ``Trainer.snapshot()``, a Trainer, or a checkpoint path.
            Optimizer state in it is ignored; weights that were frozen (not in it) stay as they are.

    Returns:
        The names of the Keras weights that were set.

    Raises:
        ValueError: a name that is no weight of the model, or a shape / dtype
            that differs; the model is left unchanged.
    """
    values = check_weights(keras_model, resolve_weights(weights))
    by_name = _keras_weights(keras_model)
    for name, value in values.items():
        by_name[name].assign(value)
    return sorted(values)


def _keras_weights(keras_model) -> dict:
    return {weight_name(layer, w): w for layer in model_layers(keras_model) for w in layer.weights}


def check_weights(keras_model, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model weights among `weights` (optimizer state dropped), checked against the Keras model.

    Raises:
        ValueError: a name that is no weight of the model, or another shape / dtype.
    """
    values = {k: v for k, v in weights.items() if not is_optimizer_state(k)}
    by_name = _keras_weights(keras_model)
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ValueError(
            f"{len(unknown)} weight(s) are not in the Keras model: {', '.join(unknown[:5])}"
            f"{' ...' if len(unknown) > 5 else ''}; its weights are: {', '.join(sorted(by_name)[:8])} ..."
        )
    for name, value in values.items():
        expected = tuple(by_name[name].shape)
        if value.shape != expected or value.dtype != np.float32:
            raise ValueError(
                f"weight {name}: got {value.dtype}{list(value.shape)}, the model has float32{list(expected)}"
            )
    return values
