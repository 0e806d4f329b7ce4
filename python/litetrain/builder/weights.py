"""Which Keras weights train, which become constants, and how each is stored."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import numpy as np

from litetrain.builder import layers
from litetrain.builder.errors import BuildError


@dataclass
class Weight:
    """One Keras weight as the training graph holds it.

    Attributes:
        name: The name in save/restore and checkpoints: Keras' path with every
            character outside [A-Za-z0-9_] replaced by "_" ("dense/kernel" ->
            "dense_kernel"), since signature inputs must be identifiers.
        value: Initial value in Keras' layout.
        trainable: A variable updated by train; else a constant of the file.
        perm: Permutation from Keras' layout to the stored one (None: same).
    """

    name: str
    value: np.ndarray
    trainable: bool
    perm: tuple[int, ...] | None

    def stored(self, value=None) -> np.ndarray:
        value = self.value if value is None else value
        return np.ascontiguousarray(value.transpose(self.perm)) if self.perm else value

    @property
    def inverse_perm(self) -> tuple[int, ...] | None:
        return tuple(int(i) for i in np.argsort(self.perm)) if self.perm else None


def variable_name(keras_path: str) -> str:
    """The save/restore name of the Keras weight at `keras_path`."""
    return re.sub(r"\W", "_", keras_path)


def model_layers(model):
    """Every layer of a Keras model, nested models flattened, in order."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and type(layer).__name__ in ("Functional", "Sequential", "Model"):
            out.extend(model_layers(layer))
        else:
            out.append(layer)
    return out


def select_trainable(model, trainable) -> set[str]:
    """Names of the layers that train.

    Args:
        model: The Keras model.
        trainable: None (every layer Keras marks trainable), a list of layer
            names or fnmatch patterns ("head*"), or a predicate on the layer.
    """
    all_layers = [layer for layer in model_layers(model) if layer.weights]
    if trainable is None:
        return {layer.name for layer in all_layers if layer.trainable}
    if callable(trainable):
        return {layer.name for layer in all_layers if trainable(layer)}
    if isinstance(trainable, str):
        trainable = [trainable]
    chosen = set()
    for pattern in trainable:
        matched = {layer.name for layer in all_layers if fnmatch.fnmatchcase(layer.name, pattern)}
        if not matched:
            names = ", ".join(layer.name for layer in all_layers)
            raise BuildError(f"trainable={pattern!r} matches no layer with weights; layers: {names}")
        chosen |= matched
    return chosen


def collect(model, trainable_layers: set[str]) -> dict[int, Weight]:
    """Weight records keyed by id() of the Keras variable."""
    records = {}
    for layer in model_layers(model):
        for variable in layer.weights:
            trains = layer.name in trainable_layers and variable.trainable
            value = np.asarray(variable.numpy())
            if value.dtype != np.float32:
                raise BuildError(f"layer {layer.name!r}: weight {variable.path} is {value.dtype}; only float32 models")
            records[id(variable)] = Weight(variable_name(variable.path), value, trains, layers.storage_permutation(layer, variable))
    names = [w.name for w in records.values()]
    if len(set(names)) != len(names):
        raise BuildError("two weights share one name; give the layers unique names")
    return records
