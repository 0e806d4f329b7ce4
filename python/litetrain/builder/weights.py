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
        name: The name in save/restore and checkpoints: layer name and weight
            name, every character outside [A-Za-z0-9_] replaced by "_"
            ("dense/kernel" -> "dense_kernel"; signature inputs must be
            identifiers). Not Keras' path: a Sequential's path carries the
            model's name, which a saved and reloaded model may not keep.
        value: Initial value in Keras' layout.
        trainable: A variable updated by train's gradients.
        perm: Permutation from Keras' layout to the stored one (None: same).
        state: A variable that train updates otherwise (BatchNormalization's
            moving statistics with batch_statistics=True). Neither: a constant.
    """

    name: str
    value: np.ndarray
    trainable: bool
    perm: tuple[int, ...] | None
    state: bool = False

    @property
    def variable(self) -> bool:
        return self.trainable or self.state

    def stored(self, value=None) -> np.ndarray:
        value = self.value if value is None else value
        return np.ascontiguousarray(value.transpose(self.perm)) if self.perm else value

    @property
    def inverse_perm(self) -> tuple[int, ...] | None:
        return tuple(int(i) for i in np.argsort(self.perm)) if self.perm else None


def variable_name(keras_path: str) -> str:
    """The save/restore name of the Keras weight at `keras_path`."""
    return re.sub(r"\W", "_", keras_path)


def weight_name(layer, variable) -> str:
    """The save/restore name of a Keras layer's weight."""
    return variable_name(f"{layer.name}/{variable.name}")


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


def collect(model, trainable_layers: set[str], batch_statistics: bool = False) -> dict[int, Weight]:
    """Weight records keyed by id() of the Keras variable.

    Args:
        batch_statistics: BatchNormalization layers that train normalise with
            the batch's statistics in train and update their moving ones.
    """
    records = {}
    for layer in model_layers(model):
        trains_layer = layer.name in trainable_layers
        for variable in layer.weights:
            value = np.asarray(variable.numpy())
            if value.dtype != np.float32:
                raise BuildError(f"layer {layer.name!r}: weight {variable.path} is {value.dtype}; only float32 models")
            state = (
                batch_statistics and trains_layer and type(layer).__name__ == "BatchNormalization"
                and not variable.trainable
            )
            records[id(variable)] = Weight(
                weight_name(layer, variable), value, trains_layer and variable.trainable,
                layers.storage_permutation(layer, variable), state,
            )
    names = [w.name for w in records.values()]
    if len(set(names)) != len(names):
        raise BuildError("two weights share one name; give the layers unique names")
    return records


def module_weights(module, trainable) -> tuple[dict[int, Weight], dict[str, object]]:
    """Records of a tf.Module's trainable variables, and those variables by name.

    `trainable` (None: all; else names or fnmatch patterns of variable names)
    selects what trains; the others are never assigned, so the converter
    makes them constants.
    """
    records, variables = {}, {}
    for variable in module.trainable_variables:
        name = variable_name(variable.name.split(":")[0])
        if name in variables:
            raise BuildError(f"two tf.Variables are both named {name!r}; give them unique names")
        patterns = [trainable] if isinstance(trainable, str) else trainable
        trains = patterns is None or any(fnmatch.fnmatchcase(name, p) for p in patterns)
        value = np.asarray(variable.numpy())
        if value.dtype != np.float32:
            raise BuildError(f"tf.Variable {name!r} is {value.dtype}; only float32 variables train")
        records[id(variable)] = Weight(name, value, trains, None)
        if trains:
            variables[name] = variable
    if not variables:
        raise BuildError(f"trainable={trainable!r} selects none of the module's variables: {sorted(records)}")
    return records, variables
