"""Where a Keras model splits into a frozen part and the head that trains: :func:`feature_cut`.

The cut is the input of the first top-level layer that holds a layer that
trains (a Dropout right below it goes with the head). It is exact, features
computed once standing for the frozen part at every step, only where the
frozen part computes the same thing in training as in inference: a frozen
layer with random masks is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from litetrain.errors import BuildError
from litetrain.tf.builder.weights import model_layers

# Layers random in litetrain's train signature: features computed once would differ from them.
# (Only Dropout has a training form here; other noise layers run through Keras in inference mode.)
RANDOM_IN_TRAINING = ("Dropout",)


@dataclass
class FeatureCut:
    """The two sides of a cut (Keras models sharing the source model's layers)."""

    layer: str  # the layer whose input is the cut
    frozen: object  # model inputs -> the cut tensor
    head: object  # the cut tensor -> model outputs


def feature_cut(model, trainable: set[str]) -> FeatureCut:
    """The cut of `model` below the layers named in `trainable`.

    Raises:
        BuildError: no frozen part below the first layer that trains, trainable layers
            inside a nested model or on both sides, a skip connection across the cut,
            a frozen layer that is random in training.
    """
    layer, tensor = _first_trainable(model, trainable)
    frozen = keras.Model(model.inputs, tensor, name=f"{model.name}_features")
    random = [part.name for part in model_layers(frozen) if type(part).__name__ in RANDOM_IN_TRAINING]
    if random:
        raise BuildError(
            f"frozen layer(s) {', '.join(random)} below {layer.name!r} are random in training: features "
            "computed once would not be what training sees; train the whole model without cached features"
        )
    try:
        head = keras.Model(tensor, model.outputs, name=f"{model.name}_head")
    except ValueError as e:
        raise BuildError(
            f"the layers from {layer.name!r} on also take inputs from below it, so they cannot train on "
            f"its input alone ({e})"
        ) from None
    outside = sorted(trainable - {part.name for part in model_layers(head)})
    if outside:
        raise BuildError(f"layer(s) {', '.join(outside)} train but sit below {layer.name!r}: no cut splits them")
    return FeatureCut(layer.name, frozen, head)


def _first_trainable(model, trainable: set[str]):
    """The first top-level layer that holds a layer that trains, and the tensor it takes."""
    for layer in model.layers:
        inner = model_layers(layer) if hasattr(layer, "layers") else [layer]
        if not any(part.name in trainable for part in inner):
            continue
        if inner != [layer]:
            raise BuildError(
                f"layers of the nested model {layer.name!r} train: the cut is between top-level layers, "
                "so freeze the nested model whole, or train the whole model without cached features"
            )
        tensor = layer.input
        if isinstance(tensor, (list, tuple)):
            raise BuildError(f"layer {layer.name!r} takes {len(tensor)} inputs; the cut is one tensor")
        first = layer.name
        # A Dropout right below the head (keras.io's recipe) goes with the head: it is random in training.
        while type(producer := tensor._keras_history.operation).__name__ in RANDOM_IN_TRAINING:
            layer, tensor = producer, producer.input
        if any(tensor is model_input for model_input in model.inputs):
            raise BuildError(f"nothing is frozen below {first!r}, the first layer that trains: there is no cut")
        return layer, tensor
    raise BuildError("no layer trains: trainable= selected no weights")
