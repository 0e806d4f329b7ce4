"""Which Keras weights train, which become constants, and how each is stored."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import numpy as np

from litetrain.errors import BuildError
from litetrain.tf.builder import layers


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


class LayersFrom:
    """``trainable=LayersFrom("block_16_expand")``: that layer and every layer after it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def select(self, ordered: list) -> list:
        names = [layer.name for layer in ordered]
        if self.name not in names:
            raise BuildError(f"LayersFrom({self.name!r}): no such layer; layers: {', '.join(names)}")
        return ordered[names.index(self.name) :]


class LastLayers:
    """``trainable=LastLayers(n)``: the model's last n layers (as Keras' ``base.layers[-n:]``,
    nested models flattened); those with weights train."""

    def __init__(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"LastLayers needs a count >= 1, got {count!r}")
        self.count = count

    def select(self, ordered: list) -> list:
        return ordered[-self.count :]


def _is_layer(value) -> bool:
    return not isinstance(value, str) and hasattr(value, "weights") and hasattr(value, "name")


def select_trainable(model, trainable) -> set[str]:
    """Names of the layers that train.

    Args:
        model: The Keras model.
        trainable: None (every layer Keras marks trainable); layer objects
            (a nested model: all its layers), layer names or fnmatch patterns
            ("head*"), alone or in a list; LayersFrom(name) or LastLayers(n);
            or a predicate on the layer.
    """
    ordered = model_layers(model)
    all_layers = [layer for layer in ordered if layer.weights]
    if trainable is None:
        return {layer.name for layer in all_layers if layer.trainable}
    if isinstance(trainable, (LayersFrom, LastLayers)):
        return {layer.name for layer in trainable.select(ordered) if layer.weights}
    if callable(trainable) and not _is_layer(trainable):
        return {layer.name for layer in all_layers if trainable(layer)}
    if isinstance(trainable, str) or _is_layer(trainable):
        trainable = [trainable]
    chosen = set()
    for item in trainable:
        if _is_layer(item):
            matched = _layers_of(item, all_layers)  # none for a layer without weights
            if not matched and all(layer is not item for layer in ordered):
                raise BuildError(f"trainable= names layer {item.name!r}, which is not in this model")
        elif isinstance(item, str):
            matched = {layer.name for layer in all_layers if fnmatch.fnmatchcase(layer.name, item)}
            if not matched:
                names = ", ".join(layer.name for layer in all_layers)
                raise BuildError(f"trainable={item!r} matches no layer with weights; layers: {names}")
        else:
            raise BuildError(
                f"trainable= takes layers, layer names or patterns, LayersFrom/LastLayers or a predicate; "
                f"got {type(item).__name__}"
            )
        chosen |= matched
    return chosen


def _layers_of(layer, all_layers) -> set[str]:
    """Names of `layer` (or, for a nested model, its layers) among the model's layers with weights."""
    members = model_layers(layer) if hasattr(layer, "layers") else [layer]
    ids = {id(member) for member in members}
    return {candidate.name for candidate in all_layers if id(candidate) in ids}


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
            if value.dtype != np.float32 and trains_layer:
                raise BuildError(
                    f"layer {layer.name!r}: weight {variable.path} is {value.dtype}; only float32 weights train "
                    "(freeze the layer: frozen weights of any type become constants)"
                )
            state = (
                batch_statistics
                and trains_layer
                and type(layer).__name__ == "BatchNormalization"
                and not variable.trainable
            )
            records[id(variable)] = Weight(
                weight_name(layer, variable),
                value,
                trains_layer and variable.trainable,
                layers.storage_permutation(layer, variable),
                state,
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
