"""A frozen backbone run once per data set, the head trained on its features: :func:`build_split`.

When every layer below the head is frozen, a training step spends most of its
time on a forward pass whose result never changes. :func:`build_split` cuts
the Keras model where the first layer that trains takes its input:

- ``features``: an inference-only ``.tflite`` from the model's input to that
  tensor (optionally quantized), run once over the data (:meth:`SplitModel.extract`);
- ``head``: a training file of the layers from there on, trained on features;
- ``full``: the whole model's training file (:func:`build` of the same model),
  into which :meth:`SplitModel.bake` puts the trained head: one deployable file.

The split is exact where the frozen part computes the same thing in training
as in inference, so a frozen layer with random masks (Dropout, GaussianNoise,
random augmentation) is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import keras
import numpy as np

from litetrain.baking import Baked, bake
from litetrain.errors import BuildError
from litetrain.model import Model
from litetrain.tf.builder import BuiltModel, build
from litetrain.tf.builder.weights import model_layers, select_trainable
from litetrain.tf.export import inference_file
from litetrain.trainer import Trainer

# Layers whose training-mode output is random: features computed once would differ from them.
RANDOM_IN_TRAINING = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
)


@dataclass
class SplitModel:
    """A feature extractor, a head that trains on its features, and the whole model to bake into.

    Attributes:
        features: Inference-only ``.tflite``: the model's input -> the head's input (signature ``infer``).
        head: The head's training file (a :class:`litetrain.BuiltModel`); its input is the features.
        full: The whole model's training file; its weights by the same names as the head's.
        cut: The layer whose output the head takes.
    """

    features: bytes
    head: BuiltModel
    full: BuiltModel
    cut: str

    def extract(self, x: np.ndarray, *, batch_size: int = 256, threads: int | None = None) -> np.ndarray:
        """The features of every sample of `x` (one pass of the frozen part, `batch_size` at a time)."""
        x = np.ascontiguousarray(x, np.float32)
        runner = Model(self.features, threads=threads).runner("infer")
        ((name, output),) = runner.info.outputs.items()
        chunks = [runner(x=x[i : i + batch_size])[name] for i in range(0, len(x), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *output.shape[1:]), np.float32)

    def trainer(self, **options) -> Trainer:
        """A :class:`litetrain.Trainer` over the head (options as Trainer's); fit it on :meth:`extract`'s output."""
        return self.head.trainer(**options)

    def bake(self, weights, path: str | os.PathLike[str] | None, **options) -> Baked:
        """The whole model with the head's trained `weights` (a Trainer, a snapshot or a checkpoint
        path), written to `path`; options as :func:`litetrain.bake` (e.g. ``inference_only=True``)."""
        return bake(self.full.tflite, weights, path, **options)


def build_split(
    model,
    loss,
    optimizer,
    *,
    trainable=None,
    quantize_features: str | None = None,
    representative_data: np.ndarray | None = None,
    **options,
) -> SplitModel:
    """Builds a Keras model whose frozen part runs once per data set (see the module's docstring).

    Args:
        model, loss, optimizer, trainable: As :func:`litetrain.build`.
        quantize_features: None (float32), "dynamic", "float16" or "int8" (needs
            `representative_data`: model inputs): the feature extractor's quantization.
        options: The other arguments of :func:`litetrain.build` (batch_size, from_logits,
            metrics, batch_statistics, seed, quantize_frozen for the whole model).

    Raises:
        BuildError: no frozen part below the first layer that trains, trainable layers
            inside a nested model or on two sides of the cut, a frozen layer that is
            random in training.
    """
    if not (hasattr(model, "layers") and getattr(model, "inputs", None)):
        raise BuildError("build_split needs a built Keras model (a tf.Module has no layers to cut between)")
    names = select_trainable(model, trainable)
    cut_layer, cut = _cut(model, names)
    frozen_part = keras.Model(model.inputs, cut, name=f"{model.name}_features")
    random = [layer.name for layer in model_layers(frozen_part) if type(layer).__name__ in RANDOM_IN_TRAINING]
    if random:
        raise BuildError(
            f"frozen layer(s) {', '.join(random)} below {cut_layer.name!r} are random in training: features "
            "computed once would not be what training sees; build the whole model with litetrain.build instead"
        )
    try:
        head = keras.Model(cut, model.outputs, name=f"{model.name}_head")
    except ValueError as e:
        raise BuildError(
            f"the layers from {cut_layer.name!r} on also take inputs from below it, so they cannot train on "
            f"its input alone ({e})"
        ) from None
    outside = sorted(names - {layer.name for layer in model_layers(head)})
    if outside:
        raise BuildError(f"layer(s) {', '.join(outside)} train but sit below {cut_layer.name!r}: no cut splits them")
    chosen = sorted(names)
    return SplitModel(
        features=inference_file(frozen_part, quantize=quantize_features, representative_data=representative_data),
        head=build(head, loss, optimizer, trainable=chosen, **options),
        full=build(model, loss, optimizer, trainable=chosen, **options),
        cut=cut_layer.name,
    )


def _cut(model, names: set[str]):
    """The first top-level layer that holds a layer that trains, and the tensor it takes."""
    for layer in model.layers:
        inner = model_layers(layer) if hasattr(layer, "layers") else [layer]
        if not any(part.name in names for part in inner):
            continue
        if inner != [layer]:
            raise BuildError(
                f"layers of the nested model {layer.name!r} train: build_split cuts between top-level layers, "
                "so freeze the nested model whole, or build the whole model with litetrain.build"
            )
        tensor = layer.input
        if isinstance(tensor, (list, tuple)):
            raise BuildError(f"layer {layer.name!r} takes {len(tensor)} inputs; build_split cuts at one tensor")
        # A Dropout right below the head (keras.io's recipe) goes with the head: it is random in training.
        while type(producer := tensor._keras_history.operation).__name__ in RANDOM_IN_TRAINING:
            layer, tensor = producer, producer.input
        if any(tensor is model_input for model_input in model.inputs):
            raise BuildError(f"nothing is frozen below {layer.name!r}, the first layer that trains: there is no split")
        return layer, tensor
    raise BuildError("no layer trains: trainable= selected no weights")
